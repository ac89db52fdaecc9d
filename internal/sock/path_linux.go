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
	fd, err := sysOpenat(unix.AT_FDCWD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	for len(data) > 0 {
		n, err := sysWriteFile(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			closeFD(fd)
			sysUnlinkat(tmp)
			return &os.PathError{Op: "write", Path: tmp, Err: err}
		}
		data = data[n:]
	}
	if err := closeFD(fd); err != nil {
		sysUnlinkat(tmp)
		return err
	}
	if err := sysRenameat(tmp, path); err != nil {
		sysUnlinkat(tmp)
		return &os.PathError{Op: "rename", Path: path, Err: err}
	}
	return nil
}

// Remove wraps unlink(2).
func Remove(path string) error {
	if err := sysUnlinkat(path); err != nil {
		return &os.PathError{Op: "unlink", Path: path, Err: err}
	}
	return nil
}
