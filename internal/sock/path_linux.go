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
	sp := begin()
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if sp.on() {
		sp.openat(unix.AT_FDCWD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_LARGEFILE, 0o644, fd, err)
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	for len(data) > 0 {
		sp := begin()
		n, err := unix.Write(fd, data)
		if sp.on() {
			sp.write(fd, data, n, err)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			closeFD(fd)
			unlink(tmp)
			return &os.PathError{Op: "write", Path: tmp, Err: err}
		}
		data = data[n:]
	}
	if err := closeFD(fd); err != nil {
		unlink(tmp)
		return err
	}
	sp = begin()
	err = unix.Rename(tmp, path)
	if sp.on() {
		sp.renameat(tmp, path, err)
	}
	if err != nil {
		unlink(tmp)
		return &os.PathError{Op: "rename", Path: path, Err: err}
	}
	return nil
}

// Remove wraps unlink(2).
func Remove(path string) error {
	if err := unlink(path); err != nil {
		return &os.PathError{Op: "unlink", Path: path, Err: err}
	}
	return nil
}

// unlink is unlink(2), which x/sys makes as unlinkat(AT_FDCWD, path, 0).
func unlink(path string) error {
	sp := begin()
	err := unix.Unlink(path)
	if sp.on() {
		sp.unlinkat(path, err)
	}
	return err
}
