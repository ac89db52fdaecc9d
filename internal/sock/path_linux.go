package sock

import (
	"math/rand/v2"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// WriteFile makes path hold data, atomically: it writes a new file beside
// it, then rename(2)s that over path, so a reader — an orchestrator polling
// for a ready file — sees nothing or all of it, never half. Raw calls rather
// than package os, which would start the Go runtime's epoll poller for the
// file.
//
// The ready file often lives in a directory others can write (/tmp), where a
// fixed temporary name would be a trap: another user could plant a symlink
// there and have us — root, perhaps — overwrite whatever it points to, or
// leave a file there that blocks our start. So the temporary name is random,
// and it is opened with O_CREAT|O_EXCL|O_NOFOLLOW: only a file this call
// creates is ever written. rename(2) replaces path itself, never what a
// symlink there points to.
func WriteFile(path string, data []byte) error {
	var fd int
	var tmp string
	for tries := 0; ; tries++ {
		tmp = path + ".tmp-" + strconv.FormatUint(rand.Uint64(), 36)
		var err error
		fd, err = sysOpenat(unix.AT_FDCWD, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == unix.EEXIST && tries < 8 {
			continue // someone's file has that name: draw another
		}
		if err != nil {
			return &os.PathError{Op: "open", Path: tmp, Err: err}
		}
		break
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
