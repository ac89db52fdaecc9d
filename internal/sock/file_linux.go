package sock

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Root is a directory opened once at start-up (open(2) with
// O_PATH|O_DIRECTORY|O_CLOEXEC); every file served is opened relative to its
// fd, so no request path can name a file outside it.
//
// Symlink policy. Where openat2(2) exists, a symlink below the root is
// followed as long as its target stays below the root: Kubernetes ConfigMap
// volumes are built from such links (index.html -> ..data/index.html). A
// symlink whose target leaves the root — "../../etc/passwd", or any absolute
// target, even one that happens to point back inside — fails with EXDEV,
// which Open reports as fs.ErrPermission. Where openat2 is missing, Open
// walks the path itself and refuses every symlink (fs.ErrPermission): without
// the kernel's help it cannot tell where a link would lead, and resolving
// links in user space races with whoever changes them.
//
// The root's descriptor number never changes: Reopen points it at another
// directory with dup3(2), so Open may run on several threads while one of
// them reopens.
type Root struct {
	fd int
	// hasOpenat2 is decided once, by a probe in OpenRoot, rather than on
	// the first Open: Open runs on many goroutines at once, and a flag
	// flipped by whichever of them first saw ENOSYS would be a data race.
	hasOpenat2 bool
}

// File is an open regular file or directory below a Root, with what
// fstat(2) said about it.
type File struct {
	fd      int
	Size    int64
	IsDir   bool
	ModTime time.Time
	Ino     uint64 // with Size and ChangeTime it makes the ETag: a replaced file gets a new inode
	Perm    uint32 // permission bits (st_mode & 0777)
	// What a cache keeps to know the file again: the device it is on, and
	// its status-change time (ctime), which every write, chmod or utimes
	// moves to now — user space cannot set it back.
	Dev        uint64
	ChangeTime time.Time
}

// FileStat is what statx(2) says of a name: enough to tell, compared with
// what was said before, whether it is still the same file with the same
// content (static.Cache).
type FileStat struct {
	ID           FileID
	Mode         uint32 // type and permission bits, as st_mode
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// IsRegular and IsDir say what the type bits say.
func (st *FileStat) IsRegular() bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }
func (st *FileStat) IsDir() bool     { return st.Mode&unix.S_IFMT == unix.S_IFDIR }

// Statx says what name is below the root, without following it if it is
// a symlink (AT_SYMLINK_NOFOLLOW; symlinks in the directories above it are
// followed: the caller checks those itself). name is NUL-terminated, so
// that the call allocates nothing. EINTR (a network file system) is
// retried; other errors are returned as mapErr maps them.
func (r *Root) Statx(name []byte, st *FileStat) error {
	var x unix.Statx_t
	for {
		err := sysStatx(r.fd, name, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &x)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return mapErr("statx", err)
		}
		*st = FileStat{
			ID:   FileID{Dev: unix.Mkdev(x.Dev_major, x.Dev_minor), Ino: x.Ino},
			Mode: uint32(x.Mode), Size: int64(x.Size),
			Mtime: x.Mtime.Sec*1e9 + int64(x.Mtime.Nsec),
			Ctime: x.Ctime.Sec*1e9 + int64(x.Ctime.Nsec),
		}
		return nil
	}
}

// StatOf is the FileStat of an open file, from what fstat said: the same
// fields Statx fills, to compare with.
func (f *File) StatOf() FileStat {
	mode := uint32(unix.S_IFREG)
	if f.IsDir {
		mode = unix.S_IFDIR
	}
	return FileStat{ID: FileID{Dev: f.Dev, Ino: f.Ino}, Mode: mode | f.Perm, Size: f.Size,
		Mtime: f.ModTime.UnixNano(), Ctime: f.ChangeTime.UnixNano()}
}

// resolveFlags confine openat2 to the root: RESOLVE_BENEATH fails with EXDEV
// on an absolute path, an absolute symlink, or a ".." that climbs out;
// RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd-style links, which jump to a
// file without going through the directory tree at all.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// fileFlags open what will be served. O_NOCTTY: a terminal planted below the
// root must not become our controlling tty. O_NONBLOCK: meaningless for
// regular files and directories, but opening a FIFO without it blocks until
// some writer appears — the fstat check that refuses the FIFO must get to
// run.
const fileFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK

// rootFlags open the root: O_PATH, a handle to name files relative to,
// which reads nothing and needs no read permission; O_DIRECTORY, so that
// anything else fails (ENOTDIR).
const rootFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC

// walkDirFlags open each intermediate directory of the fallback walk.
// O_PATH: we only look up names in it, so no read permission is needed and
// nothing about the directory is touched. O_NOFOLLOW with O_DIRECTORY makes a
// symlink fail with ENOTDIR instead of being followed.
const walkDirFlags = unix.O_PATH | unix.O_NOFOLLOW | unix.O_DIRECTORY | unix.O_CLOEXEC

// openat2Retries bounds the EAGAIN loop in openat2: see openat2 below.
const openat2Retries = 8

// OpenRoot opens dir as the root of everything Open may reach. dir itself
// is the operator's choice, so symlinks in it are followed; an error (one
// naming open(2)) means dir is missing or not a directory.
//
// It also probes openat2(2) once, by opening "." beneath the new root: ENOSYS
// (kernels before 5.6, or a seccomp profile that does not know the call)
// and EPERM (older Docker profiles deny unknown calls with it — a probe that
// needs no permission cannot fail with it honestly) both mean "walk instead".
func OpenRoot(dir string) (*Root, error) {
	fd, err := openat(unix.AT_FDCWD, dir, rootFlags)
	if err != nil {
		return nil, mapErr("open", err)
	}
	r := &Root{fd: fd, hasOpenat2: true}
	probe, err := openat2(fd, ".", unix.O_PATH|unix.O_CLOEXEC)
	switch err {
	case nil:
		closeFD(probe)
	case unix.ENOSYS, unix.EPERM:
		r.hasOpenat2 = false
	default:
		closeFD(fd)
		return nil, mapErr("openat2", err)
	}
	return r, nil
}

// Close releases the root's descriptor. Files already open stay usable.
func (r *Root) Close() error {
	if r.fd < 0 {
		return fs.ErrClosed
	}
	fd := r.fd
	r.fd = -1
	return closeFD(fd)
}

// FileID is what makes a file itself rather than a name for it: the device
// it is on and its inode number (st_dev, st_ino). Two names with the same
// FileID are one file. A file's inode number is not given to another while
// a descriptor holds the file open, even after it is deleted — so a FileID
// compared with one of a file held open (the root) cannot be a coincidence.
type FileID struct{ Dev, Ino uint64 }

func idOf(st *unix.Stat_t) FileID { return FileID{Dev: st.Dev, Ino: st.Ino} }

// ID is the FileID of the directory the root's descriptor holds: fstat(2),
// which an O_PATH descriptor allows.
func (r *Root) ID() (FileID, error) {
	var st unix.Stat_t
	if err := sysFstat(r.fd, &st); err != nil {
		return FileID{}, os.NewSyscallError("fstat", err)
	}
	return idOf(&st), nil
}

// Stat is the FileID of what path names now: stat(2), which x/sys makes as
// newfstatat(AT_FDCWD, path, &st, 0). Like OpenRoot it follows symlinks, so
// a -dir that is a link names the link's target.
func Stat(path string) (FileID, error) {
	var st unix.Stat_t
	for {
		err := sysNewfstatat(unix.AT_FDCWD, path, &st, 0)
		switch {
		case err == unix.EINTR: // a stat on a network file system can be interrupted
			continue
		case err != nil:
			return FileID{}, mapErr("newfstatat", err)
		}
		return idOf(&st), nil
	}
}

// Reopen points the root at the directory dir names now, and returns its
// FileID: it opens dir as OpenRoot does, then dup3(2) makes the root's
// descriptor a copy of the new one — the old directory is released in the
// same step — and closes the new one. The root's descriptor number stays
// the same, so there is no moment without a root, and nothing to track: an
// Open already under way on another thread holds its own reference to the
// old directory, which the kernel took when the call began, and finishes
// there. Whether dir has changed at all is the caller's question (Stat).
func (r *Root) Reopen(dir string) (FileID, error) {
	fd, err := openat(unix.AT_FDCWD, dir, rootFlags)
	if err != nil {
		return FileID{}, mapErr("open", err)
	}
	defer closeFD(fd)
	var st unix.Stat_t
	if err := sysFstat(fd, &st); err != nil {
		return FileID{}, os.NewSyscallError("fstat", err)
	}
	// EINTR: dup3 may be interrupted (dup2(2)); the copy is then not made.
	for {
		err := sysDup3(fd, r.fd, unix.O_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return FileID{}, os.NewSyscallError("dup3", err)
		}
		return idOf(&st), nil
	}
}

// atEUID is the auxiliary vector's key for the effective user id
// (AT_EUID, linux/auxvec.h).
const atEUID = 12

// RunningAsRoot reports whether the process's effective user id is 0:
// root, whom the kernel lets read any file whatever its mode
// (CAP_DAC_OVERRIDE), so that permissions keep nothing from being served.
// The kernel hands every program its ids at exec, in the auxiliary vector
// (getauxval(3)): reading AT_EUID there makes no system call, and rawserve
// never changes its ids. false where the vector cannot be read.
func RunningAsRoot() bool {
	auxv, err := unix.Auxv()
	if err != nil {
		return false
	}
	for _, kv := range auxv {
		if kv[0] == atEUID {
			return kv[1] == 0
		}
	}
	return false
}

// Open opens rel below the root and fstats it. rel is relative and
// slash-separated; "" or "." names the root itself. A trailing slash demands
// a directory, as it does for open(2).
//
// Only regular files and directories are opened: anything else (FIFO,
// socket, device) is closed again and refused with an error matching
// fs.ErrPermission.
//
// Errors name the system call that failed (openat2, openat or fstat) and map
// onto io/fs for callers that only need to pick a status:
//
//	ENOENT, ENOTDIR, ENAMETOOLONG -> fs.ErrNotExist  (no such file can exist)
//	EXDEV  (RESOLVE_BENEATH: the path or a link would leave the root),
//	ELOOP  (a symlink refused, or too many of them),
//	EACCES, EPERM,
//	ENXIO, ENODEV (a socket or device node) -> fs.ErrPermission
//
// Anything else (EMFILE, ENOMEM, EIO...) matches neither. The errno stays
// reachable with errors.Is as well.
func (r *Root) Open(rel string) (*File, error) {
	var fd int
	var err error
	if r.hasOpenat2 {
		if rel == "" {
			rel = "."
		}
		fd, err = openat2(r.fd, rel, fileFlags)
		if err != nil {
			return nil, mapErr("openat2", err)
		}
	} else {
		fd, err = r.walk(rel)
		if err != nil {
			return nil, err
		}
	}
	var st unix.Stat_t
	if err := sysFstat(fd, &st); err != nil {
		closeFD(fd)
		return nil, mapErr("fstat", err)
	}
	f := &File{fd: fd, Size: st.Size, ModTime: time.Unix(st.Mtim.Unix()), Ino: st.Ino, Perm: st.Mode & 0o777,
		Dev: st.Dev, ChangeTime: time.Unix(st.Ctim.Unix())}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		f.IsDir = true
	default:
		closeFD(fd)
		return nil, errNotRegular
	}
	return f, nil
}

// walk is Open without openat2: one openat(2) per component, each relative
// to the directory the previous one opened, so ".." never climbs and a
// symlink is never followed (O_NOFOLLOW). It is stricter than openat2 with
// RESOLVE_BENEATH: any ".." and any symlink are refused, even harmless ones.
func (r *Root) walk(rel string) (int, error) {
	if strings.HasPrefix(rel, "/") {
		return -1, mapErr("openat", unix.EXDEV)
	}
	dirfd := r.fd
	// closeDir releases the intermediate directory, never the root.
	closeDir := func() {
		if dirfd != r.fd {
			closeFD(dirfd)
		}
	}
	for {
		name, rest, more := strings.Cut(rel, "/")
		if more && (name == "" || name == ".") {
			rel = rest
			continue
		}
		if name == ".." {
			closeDir()
			return -1, mapErr("openat", unix.EXDEV)
		}
		if !more {
			if name == "" {
				name = "." // rel was "" or ended in "/": the directory itself
			}
			fd, err := openat(dirfd, name, fileFlags|unix.O_NOFOLLOW)
			closeDir()
			if err != nil {
				return -1, mapErr("openat", err)
			}
			return fd, nil
		}
		fd, err := openat(dirfd, name, walkDirFlags)
		if err == unix.ENOTDIR && isSymlink(dirfd, name) {
			err = unix.ELOOP // say "symlink refused", as the last component would
		}
		closeDir()
		if err != nil {
			return -1, mapErr("openat", err)
		}
		dirfd, rel = fd, rest
	}
}

// isSymlink asks fstatat(2), without following, whether name is a symlink.
// Used only on the walk's error path, to tell a refused link from a plain
// file where a directory was expected.
func isSymlink(dirfd int, name string) bool {
	var st unix.Stat_t
	err := sysNewfstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// FD is the file's descriptor, for read(2) or sendfile(2). It stays owned by f.
func (f *File) FD() int { return f.fd }

// Close releases the file's descriptor.
func (f *File) Close() error {
	if f.fd < 0 {
		return fs.ErrClosed
	}
	fd := f.fd
	f.fd = -1
	return closeFD(fd)
}

// openat2 wraps openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS. It
// retries EINTR (an open on a network or FUSE file system can be
// interrupted) and, a few times, EAGAIN: with RESOLVE_BENEATH the kernel
// answers EAGAIN when a concurrent rename or mount means it cannot prove a
// ".." stayed inside, and asks the caller to try again. The bound is there
// because EAGAIN also means "O_NONBLOCK and someone holds a lease", which no
// number of retries will fix.
func openat2(dirfd int, path string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolveFlags}
	for again := 0; ; {
		fd, err := openat2Func(dirfd, path, &how)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && again < openat2Retries:
			again++
			continue
		}
		return fd, err
	}
}

// openat wraps openat(2), retrying EINTR as openat2 does.
func openat(dirfd int, path string, flags int) (int, error) {
	for {
		fd, err := sysOpenat(dirfd, path, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// fileError is an *os.SyscallError that also matches the io/fs error its
// errno stands for: syscall.Errno alone maps ENOENT and EACCES/EPERM, but not
// ENOTDIR, EXDEV or ELOOP, which are the ones path resolution produces.
type fileError struct {
	sys  *os.SyscallError
	kind error // fs.ErrNotExist, fs.ErrPermission, or nil
}

func (e *fileError) Error() string   { return e.sys.Error() }
func (e *fileError) Unwrap() []error { return []error{e.sys, e.kind} }

func mapErr(syscall string, err error) error {
	e := &fileError{sys: os.NewSyscallError(syscall, err).(*os.SyscallError)}
	switch err {
	case unix.ENOENT, unix.ENOTDIR, unix.ENAMETOOLONG:
		e.kind = fs.ErrNotExist
	case unix.EXDEV, unix.ELOOP, unix.EACCES, unix.EPERM, unix.ENXIO, unix.ENODEV:
		e.kind = fs.ErrPermission
	default:
		return e.sys
	}
	return e
}

// errNotRegular is Open's answer for a FIFO, socket or device node.
var errNotRegular error = notRegularError{}

type notRegularError struct{}

func (notRegularError) Error() string   { return "fstat: not a regular file or directory" }
func (notRegularError) Is(e error) bool { return e == fs.ErrPermission }

// ReadDir wraps getdents64(2): it calls fn with each entry of the directory
// f but "." and "..", and whether the kernel says it is a directory, until
// fn returns false. The kernel packs as many records into buf as fit; the
// loop asks again until it returns 0, the end — or fn has had enough, so
// that a caller who wants a few entries of a huge directory does not pay
// for reading all of it. name is only valid during the call.
func (f *File) ReadDir(buf []byte, fn func(name []byte, isDir bool) bool) error {
	for {
		n, err := sysGetdents64(f.fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("getdents64", err)
		}
		if n == 0 {
			return nil
		}
		// Each record: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1),
		// then the NUL-terminated name, padded to d_reclen.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				return os.NewSyscallError("getdents64", unix.EIO) // a record we cannot read
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if string(name) != "." && string(name) != ".." && !fn(name, b[18] == unix.DT_DIR) {
				return nil
			}
			b = b[reclen:]
		}
	}
}

// ReadFull reads the file from its start into p (len(p) must be f.Size):
// ReadFullAt(p, 0).
func (f *File) ReadFull(p []byte) error { return f.ReadFullAt(p, 0) }

// ReadFullAt fills p from offset off with pread(2), which takes the offset
// as an argument and so leaves the file's own offset alone. A read of a
// regular file may return less than asked (a signal, a very large read):
// the loop reads the rest. A file that shrank since fstat returns
// io.ErrUnexpectedEOF.
func (f *File) ReadFullAt(p []byte, off int64) error {
	for done := 0; done < len(p); {
		n, err := sysPread64(f.fd, p[done:], off+int64(done))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return os.NewSyscallError("pread64", err)
		case n == 0:
			return io.ErrUnexpectedEOF
		}
		done += n
	}
	return nil
}
