package sock

import (
	"os"

	"golang.org/x/sys/unix"
)

// WriteFile makes path hold data, atomically: it writes path.tmp, then
// rename(2)s it over path, so a reader — an orchestrator polling for a
// ready file — sees nothing or all of it, never half. Raw calls rather than
// package os, which would start the Go runtime's epoll poller for the file.
func WriteFile(path string, data []byte) error {
	tmp := path + ".tmp"
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			closeFD(fd)
			unix.Unlink(tmp)
			return &os.PathError{Op: "write", Path: tmp, Err: err}
		}
		data = data[n:]
	}
	if err := closeFD(fd); err != nil {
		unix.Unlink(tmp)
		return err
	}
	if err := unix.Rename(tmp, path); err != nil {
		unix.Unlink(tmp)
		return &os.PathError{Op: "rename", Path: path, Err: err}
	}
	return nil
}

// Remove wraps unlink(2).
func Remove(path string) error {
	if err := unix.Unlink(path); err != nil {
		return &os.PathError{Op: "unlink", Path: path, Err: err}
	}
	return nil
}
