package sock

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// narrate runs f with a span that writes to a buffer and returns the line.
func narrate(timed bool, f func(s span)) string {
	var buf bytes.Buffer
	t := &tracer{w: &buf, timed: timed}
	f(span{t: t})
	return buf.String()
}

func rawInet4(port int, ip [4]byte) *unix.RawSockaddrAny {
	var rsa unix.RawSockaddrAny
	sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
	sa.Family = unix.AF_INET
	b := (*[2]byte)(unsafe.Pointer(&sa.Port)) // network byte order
	b[0], b[1] = byte(port>>8), byte(port)
	sa.Addr = ip
	return &rsa
}

func rawInet6(port int, ip [16]byte, flow, scope uint32) *unix.RawSockaddrAny {
	var rsa unix.RawSockaddrAny
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
	sa.Family = unix.AF_INET6
	b := (*[2]byte)(unsafe.Pointer(&sa.Port))
	b[0], b[1] = byte(port>>8), byte(port)
	f := (*[4]byte)(unsafe.Pointer(&sa.Flowinfo))
	f[0], f[1], f[2], f[3] = byte(flow>>24), byte(flow>>16), byte(flow>>8), byte(flow)
	sa.Addr, sa.Scope_id = ip, scope
	return &rsa
}

func ptr(p unsafe.Pointer) string { return fmt.Sprintf("%#x", uintptr(p)) }

// Each narration against the line strace 6.1 printed for the same call
// (most captured from a test program under strace; see docs/walkthrough.md
// for the server's own).
func TestTraceFormat(t *testing.T) {
	v4 := Addr{IP: [16]byte{127, 0, 0, 1}, Port: 8080}
	v6 := Addr{IP: [16]byte{15: 1}, Is6: true, Port: 8080}
	mapped := Addr{IP: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}, Is6: true}
	wild6 := Addr{Is6: true, Wildcard: true, Port: 8080}
	req := []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
	odd := []byte("a\x00b\x001\x7f\xff\"\\\t\v\f\r\n\x1b[0m abcdefghijklmnopqrstuvwxyz0123456789")
	var rsa unix.RawSockaddrAny
	big := make([]byte, 20480)
	st := func(mode uint32, size int64, rdev uint64) *unix.Stat_t {
		return &unix.Stat_t{Mode: mode, Size: size, Rdev: rdev}
	}
	var errSt unix.Stat_t

	for _, tc := range []struct {
		f    func(s span)
		want string
	}{
		// Start-up.
		{func(s span) {
			s.socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP, 6, nil)
		}, `socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 6`},
		{func(s span) { s.socket(unix.AF_INET, unix.SOCK_STREAM, 0, 21, nil) }, `socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 21`},
		{func(s span) {
			s.socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP, -1, unix.EAFNOSUPPORT)
		}, `socket(AF_INET6, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = -1 EAFNOSUPPORT (Address family not supported by protocol)`},
		{func(s span) { s.setsockoptInt(6, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, nil) }, `setsockopt(6, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0`},
		{func(s span) { s.setsockoptInt(6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0, nil) }, `setsockopt(6, SOL_IPV6, IPV6_V6ONLY, [0], 4) = 0`},
		{func(s span) { s.addrCall("bind", 6, v4, nil) }, `bind(6, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0`},
		{func(s span) { s.addrCall("bind", 6, v6, nil) },
			`bind(6, {sa_family=AF_INET6, sin6_port=htons(8080), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0`},
		{func(s span) { s.addrCall("bind", 6, wild6, nil) },
			`bind(6, {sa_family=AF_INET6, sin6_port=htons(8080), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::", &sin6_addr), sin6_scope_id=0}, 28) = 0`},
		{func(s span) { s.addrCall("bind", 19, mapped, nil) },
			`bind(19, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0`},
		{func(s span) { s.addrCall("bind", 6, Addr{Wildcard: true, Port: 80}, unix.EADDRINUSE) },
			`bind(6, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("0.0.0.0")}, 16) = -1 EADDRINUSE (Address already in use)`},
		{func(s span) { s.listen(6, 4096, nil) }, `listen(6, 4096) = 0`},
		{func(s span) { s.listen(999, 4096, unix.EBADF) }, `listen(999, 4096) = -1 EBADF (Bad file descriptor)`},
		{func(s span) { s.nameCall("getsockname", 6, rawInet4(43203, [4]byte{127, 0, 0, 1}), 16, nil) },
			`getsockname(6, {sa_family=AF_INET, sin_port=htons(43203), sin_addr=inet_addr("127.0.0.1")}, [112 => 16]) = 0`},
		{func(s span) { s.eventfd2(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC, 5, nil) }, `eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 5`},
		{func(s span) { s.eventfd2(0, unix.EFD_SEMAPHORE|unix.EFD_NONBLOCK|unix.EFD_CLOEXEC, 20, nil) }, `eventfd2(0, EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK) = 20`},
		{func(s span) {
			s.openat(unix.AT_FDCWD, "/proc/sys/net/core/somaxconn", unix.O_RDONLY|unix.O_CLOEXEC, 0, 6, nil)
		}, `openat(AT_FDCWD, "/proc/sys/net/core/somaxconn", O_RDONLY|O_CLOEXEC) = 6`},
		{func(s span) { s.read(6, big[:32], copy(big, "4096\n"), nil) }, `read(6, "4096\n", 32) = 5`},

		{func(s span) { s.setsockoptInt(6, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, nil) }, `setsockopt(6, SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0`},

		// -faults' reset and pauses, as strace 6.1 printed them.
		{func(s span) { s.ioctlInt(8, unix.SIOCOUTQ, 0, nil) }, `ioctl(8, TIOCOUTQ, [0]) = 0`},
		{func(s span) { s.ioctlInt(8, unix.SIOCOUTQNSD, 1448, nil) }, `ioctl(8, SIOCOUTQNSD, [1448]) = 0`},
		{func(s span) { s.setsockoptLinger(8, &unix.Linger{Onoff: 1, Linger: 0}, nil) },
			`setsockopt(8, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0`},
		{func(s span) { s.ppoll(nil, &unix.Timespec{Nsec: 1000000}, &unix.Timespec{}, 0, nil) },
			`ppoll(NULL, 0, {tv_sec=0, tv_nsec=1000000}, NULL, 0) = 0 (Timeout)`},

		// The event loop, as strace 6.1 printed the same calls.
		{func(s span) { s.epollCreate1(unix.EPOLL_CLOEXEC, 5, nil) }, `epoll_create1(EPOLL_CLOEXEC) = 5`},
		{func(s span) { s.pread64(11, big[:13], 0, copy(big, "Hello, World!"), nil) }, `pread64(11, "Hello, World!", 13, 0) = 13`},
		{func(s span) {
			s.epollCtl(5, unix.EPOLL_CTL_ADD, 6, &Event{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: 6, Pad: 7}, nil)
		}, `epoll_ctl(5, EPOLL_CTL_ADD, 6, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data={u32=6, u64=30064771078}}) = 0`},
		{func(s span) { s.epollCtl(5, unix.EPOLL_CTL_DEL, 6, nil, nil) }, `epoll_ctl(5, EPOLL_CTL_DEL, 6, NULL) = 0`},
		{func(s span) {
			evs := []Event{{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: 6, Pad: 7}}
			s.epollWait(5, evs, 8, 100, 1, nil)
		}, `epoll_pwait(5, [{events=EPOLLIN|EPOLLOUT, data={u32=6, u64=30064771078}}], 8, 100, NULL, 0) = 1`},
		{func(s span) { s.epollWait(5, make([]Event, 8), 8, 10, 0, nil) }, `epoll_pwait(5, [], 8, 10, NULL, 0) = 0`},

		// Accepting and waiting.
		{func(s span) {
			s.accept4(6, rawInet4(41234, [4]byte{127, 0, 0, 1}), 16, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 7, nil)
		}, `accept4(6, {sa_family=AF_INET, sin_port=htons(41234), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 7`},
		{func(s span) {
			s.accept4(6, rawInet6(54466, mapped.IP, 0, 0), 28, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 9, nil)
		}, `accept4(6, {sa_family=AF_INET6, sin6_port=htons(54466), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, [112 => 28], SOCK_CLOEXEC|SOCK_NONBLOCK) = 9`},
		{func(s span) {
			s.accept4(6, rawInet6(1, [16]byte{0: 0xfe, 1: 0x80, 15: 2}, 0x12345, 3), 28, 0, 9, nil)
		}, `accept4(6, {sa_family=AF_INET6, sin6_port=htons(1), sin6_flowinfo=htonl(74565), inet_pton(AF_INET6, "fe80::2", &sin6_addr), sin6_scope_id=3}, [112 => 28], 0) = 9`},
		{func(s span) { s.accept4(6, &rsa, 112, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, -1, unix.EAGAIN) },
			`accept4(6, ` + ptr(unsafe.Pointer(&rsa)) + `, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)`},
		{func(s span) {
			fds := []unix.PollFd{{Fd: 7, Events: unix.POLLIN, Revents: unix.POLLIN}, {Fd: 5, Events: unix.POLLIN}}
			s.ppoll(fds, &unix.Timespec{Sec: 1, Nsec: 999998557}, &unix.Timespec{Nsec: 99998802}, 1, nil)
		}, `ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999998557}, NULL, 0) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=0, tv_nsec=99998802})`},
		{func(s span) {
			fds := []unix.PollFd{{Fd: 6, Events: unix.POLLIN, Revents: unix.POLLIN}, {Fd: 5, Events: unix.POLLIN}}
			s.ppoll(fds, nil, nil, 1, nil)
		}, `ppoll([{fd=6, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = 1 ([{fd=6, revents=POLLIN}])`},
		{func(s span) {
			fds := []unix.PollFd{{Fd: 7, Events: unix.POLLIN}, {Fd: 5, Events: unix.POLLIN}}
			s.ppoll(fds, &unix.Timespec{Sec: 1, Nsec: 999998557}, &unix.Timespec{}, 0, nil)
		}, `ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999998557}, NULL, 0) = 0 (Timeout)`},
		{func(s span) {
			fds := []unix.PollFd{{Fd: 7, Events: unix.POLLIN}, {Fd: 5, Events: unix.POLLIN}}
			s.ppoll(fds, nil, nil, -1, unix.EINTR)
		}, `ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = -1 EINTR (Interrupted system call)`},
		{func(s span) {
			fds := []unix.PollFd{
				{Fd: 9, Events: unix.POLLIN | unix.POLLPRI | unix.POLLOUT | unix.POLLRDHUP, Revents: unix.POLLIN | unix.POLLOUT | unix.POLLHUP | unix.POLLRDHUP},
				{Fd: 998, Events: unix.POLLIN, Revents: unix.POLLNVAL},
			}
			s.ppoll(fds, nil, nil, 2, nil)
		}, `ppoll([{fd=9, events=POLLIN|POLLPRI|POLLOUT|POLLRDHUP}, {fd=998, events=POLLIN}], 2, NULL, NULL, 0) = 2 ([{fd=9, revents=POLLIN|POLLOUT|POLLHUP|POLLRDHUP}, {fd=998, revents=POLLNVAL}])`},
		{func(s span) { s.ppoll(nil, &unix.Timespec{Nsec: 1000}, &unix.Timespec{}, 0, nil) }, `ppoll(NULL, 0, {tv_sec=0, tv_nsec=1000}, NULL, 0) = 0 (Timeout)`},

		// Reading: strace's 32-byte abbreviation and C escapes.
		{func(s span) { s.read(7, big, copy(big, req), nil) }, `read(7, "GET / HTTP/1.1\r\nHost: 127.0.0.1:"..., 20480) = 79`},
		{func(s span) { s.read(7, big, 0, nil) }, `read(7, "", 20480) = 0`},
		{func(s span) { s.read(9, big[1:], -1, unix.EAGAIN) },
			`read(9, ` + ptr(unsafe.Pointer(&big[1])) + `, 20479) = -1 EAGAIN (Resource temporarily unavailable)`},
		{func(s span) { s.read(9, big[:4], copy(big, odd[:4]), nil) }, `read(9, "a\0b\0", 4) = 4`},
		{func(s span) { s.write(8, odd, len(odd), nil) }, `write(8, "a\0b\0001\177\377\"\\\t\v\f\r\n\33[0m abcdefghijklm"..., 55) = 55`},
		{func(s span) {
			s.write(8, []byte("\x01\x02\xff\xfe\x00\x00\x001\x1f\x7f\xc3\xa9 \xc3\xa9"), -1, unix.EPIPE)
		},
			`write(8, "\1\2\377\376\0\0\0001\37\177\303\251 \303\251", 15) = -1 EPIPE (Broken pipe)`},
		{func(s span) { s.write(8, []byte("01234567890123456789012345678901"), 32, nil) }, `write(8, "01234567890123456789012345678901", 32) = 32`},
		{func(s span) { s.write(8, []byte("012345678901234567890123456789012"), 33, nil) }, `write(8, "01234567890123456789012345678901"..., 33) = 33`},
		{func(s span) { s.write(5, []byte{1, 0, 0, 0, 0, 0, 0, 0}, 8, nil) }, `write(5, "\1\0\0\0\0\0\0\0", 8) = 8`},
		{func(s span) { s.write(11, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, -1, unix.EINVAL) }, `write(11, "\1\2\3\4\5\6\7\10\t", 9) = -1 EINVAL (Invalid argument)`},

		// Files.
		{func(s span) {
			s.openat(unix.AT_FDCWD, "/srv/www", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 12, nil)
		}, `openat(AT_FDCWD, "/srv/www", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY) = 12`},
		{func(s span) {
			s.openat2(12, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveFlags}, 13, nil)
		}, `openat2(12, ".", {flags=O_RDONLY|O_CLOEXEC|O_PATH, resolve=RESOLVE_NO_MAGICLINKS|RESOLVE_BENEATH}, 24) = 13`},
		{func(s span) {
			s.openat2(5, "big.bin", &unix.OpenHow{Flags: fileFlags, Resolve: resolveFlags}, 12, nil)
		}, `openat2(5, "big.bin", {flags=O_RDONLY|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, resolve=RESOLVE_NO_MAGICLINKS|RESOLVE_BENEATH}, 24) = 12`},
		{func(s span) {
			s.openat2(12, "../x", &unix.OpenHow{Flags: fileFlags, Resolve: resolveFlags}, -1, unix.EXDEV)
		}, `openat2(12, "../x", {flags=O_RDONLY|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, resolve=RESOLVE_NO_MAGICLINKS|RESOLVE_BENEATH}, 24) = -1 EXDEV (Invalid cross-device link)`},
		{func(s span) { s.openat(12, "sub", walkDirFlags, 0, 16, nil) }, `openat(12, "sub", O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH|O_DIRECTORY) = 16`},
		{func(s span) { s.openat(12, "f.txt", fileFlags|unix.O_NOFOLLOW, 0, 17, nil) }, `openat(12, "f.txt", O_RDONLY|O_NOCTTY|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC) = 17`},
		{func(s span) {
			s.openat(unix.AT_FDCWD, "/tmp/w.tmp", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644, 19, nil)
		}, `openat(AT_FDCWD, "/tmp/w.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = 19`},
		{func(s span) { s.openat(5, "caf\xc3\xa9 \"1\"\x017", 0, 0, -1, unix.ENOENT) },
			`openat(5, "caf\303\251 \"1\"\0017", O_RDONLY) = -1 ENOENT (No such file or directory)`},
		{func(s span) { s.fstat(12, st(unix.S_IFREG|0o644, 1048576, 0), nil) }, `fstat(12, {st_mode=S_IFREG|0644, st_size=1048576, ...}) = 0`},
		{func(s span) { s.fstat(12, st(unix.S_IFDIR|0o755, 4096, 0), nil) }, `fstat(12, {st_mode=S_IFDIR|0755, st_size=4096, ...}) = 0`},
		{func(s span) { s.fstat(12, st(unix.S_IFREG|unix.S_ISUID|0o7, 0, 0), nil) }, `fstat(12, {st_mode=S_IFREG|S_ISUID|007, st_size=0, ...}) = 0`},
		{func(s span) { s.fstat(15, st(unix.S_IFCHR|0o666, 0, unix.Mkdev(1, 3)), nil) }, `fstat(15, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0`},
		{func(s span) { s.fstat(999, &errSt, unix.EBADF) }, `fstat(999, ` + ptr(unsafe.Pointer(&errSt)) + `) = -1 EBADF (Bad file descriptor)`},
		{func(s span) { s.newfstatat(12, "link", st(unix.S_IFLNK|0o777, 5, 0), unix.AT_SYMLINK_NOFOLLOW, nil) },
			`newfstatat(12, "link", {st_mode=S_IFLNK|0777, st_size=5, ...}, AT_SYMLINK_NOFOLLOW) = 0`},
		{func(s span) {
			s.sendfile(7, 8, 0, 65536, 1048576, 65536, nil)
		}, `sendfile(7, 8, [0] => [65536], 1048576) = 65536`},
		{func(s span) {
			s.sendfile(11, 12, 7042576, 7042576, 60066288, -1, unix.EAGAIN)
		}, `sendfile(11, 12, [7042576], 60066288) = -1 EAGAIN (Resource temporarily unavailable)`},
		{func(s span) { s.sendfile(11, 12, 6, 6, 100, 0, nil) }, `sendfile(11, 12, [6], 100) = 0`},
		{func(s span) { s.renameat("/tmp/w.tmp", "/tmp/w", nil) }, `renameat(AT_FDCWD, "/tmp/w.tmp", AT_FDCWD, "/tmp/w") = 0`},
		{func(s span) { s.unlinkat("/tmp/w", unix.ENOENT) }, `unlinkat(AT_FDCWD, "/tmp/w", 0) = -1 ENOENT (No such file or directory)`},

		// Ending, and dialing.
		{func(s span) { s.shutdown(7, unix.SHUT_WR, nil) }, `shutdown(7, SHUT_WR) = 0`},
		{func(s span) { s.shutdown(7, unix.SHUT_WR, unix.ENOTCONN) }, `shutdown(7, SHUT_WR) = -1 ENOTCONN (Transport endpoint is not connected)`},
		{func(s span) { s.close(7, nil) }, `close(7) = 0`},
		{func(s span) { s.close(999, unix.EBADF) }, `close(999) = -1 EBADF (Bad file descriptor)`},
		{func(s span) { s.addrCall("connect", 7, Addr{IP: [16]byte{127, 0, 0, 1}, Port: 1}, unix.EINPROGRESS) },
			`connect(7, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)`},
		{func(s span) { s.getsockoptInt(6, unix.SOL_SOCKET, unix.SO_ERROR, 0, nil) }, `getsockopt(6, SOL_SOCKET, SO_ERROR, [0], [4]) = 0`},
		{func(s span) { s.getsockoptInt(7, unix.SOL_SOCKET, unix.SO_ERROR, int(unix.ECONNREFUSED), nil) },
			`getsockopt(7, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0`},
		{func(s span) { s.nameCall("getpeername", 7, &rsa, 112, unix.ENOTCONN) },
			`getpeername(7, ` + ptr(unsafe.Pointer(&rsa)) + `, [112]) = -1 ENOTCONN (Transport endpoint is not connected)`},
	} {
		got := strings.TrimSuffix(narrate(false, tc.f), "\n")
		if got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// glibc's inet_ntop, which strace uses, differs from RFC 5952 text for one
// kind of address: IPv4-compatible ::a.b.c.d keeps its dotted tail.
func TestTraceInet6(t *testing.T) {
	for _, tc := range []struct {
		ip   [16]byte
		want string
	}{
		{[16]byte{}, "::"},
		{[16]byte{15: 1}, "::1"},
		{[16]byte{12: 1, 13: 2, 14: 3, 15: 4}, "::1.2.3.4"},
		{[16]byte{14: 3, 15: 4}, "::304"},
		{[16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}, "::ffff:10.0.0.1"},
		{[16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}, "2001:db8::1"},
		{[16]byte{0x20, 0x01, 0x0d, 0xb8, 7: 1, 9: 1, 11: 1, 13: 1, 15: 1}, "2001:db8:0:1:1:1:1:1"},
	} {
		if got := string(appendInet6(nil, &tc.ip)); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.ip, got, tc.want)
		}
	}
}

// getdents64's line counts the records the kernel wrote, "." and ".." too.
func TestTraceGetdents(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var out bytes.Buffer
	SetTrace(&out, false)
	defer SetTrace(nil, false)
	buf := make([]byte, 4096+1)[1:] // misaligned: x/sys skips 7 bytes
	f := &File{fd: fd}
	var names []string
	if err := f.ReadDir(buf, func(name []byte, isDir bool) bool { names = append(names, string(name)); return true }); err != nil {
		t.Fatal(err)
	}
	SetTrace(nil, false)
	want := regexp.MustCompile(fmt.Sprintf(`^getdents64\(%d, %s /\* 4 entries \*/, 4089\) = \d+\ngetdents64\(%d, %s /\* 0 entries \*/, 4089\) = 0\n$`,
		fd, ptr(unsafe.Pointer(&buf[7])), fd, ptr(unsafe.Pointer(&buf[7]))))
	if !want.MatchString(out.String()) || len(names) != 2 {
		t.Errorf("names %q, narration:\n%s", names, out.String())
	}
}

// The wrappers narrate the calls they really make, in order, with the fds
// the kernel gave: a listener, a client from Dial, a request and answer, a
// file by sendfile, a directory, the ready file, a shutdown.
func TestTraceLive(t *testing.T) {
	var out lockedBuf
	SetTrace(&out, true)
	defer SetTrace(nil, false)

	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := &Poller{Waker: w}
	a, _ := ParseAddr("127.0.0.1:0")
	l, err := Listen(a, 16, p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Deadline = time.Now().Add(5 * time.Second)
	client, err := Dial(l.Addr(), time.Now().Add(5*time.Second), &Poller{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Abort()
	var c Conn
	if err := l.AcceptInto(&c); err != nil {
		t.Fatal(err)
	}
	client.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644)
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Open("f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendFile(f, 0, f.Size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := r.Open("nope"); err == nil {
		t.Fatal("opened a missing file")
	}
	ready := filepath.Join(dir, "ready")
	if err := WriteFile(ready, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	Remove(ready)
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	c.CloseWrite()
	c.ReadUnwoken(buf)
	c.Abort()
	w.Wake()
	SetTrace(nil, false)

	lfd, cfd, sfd, wfd := l.FD(), client.FD(), -1, w.fd
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, line := range lines {
		if m := regexp.MustCompile(`^accept4\(\d+, \{.*\) = (\d+) <`).FindStringSubmatch(line); m != nil {
			fmt.Sscan(m[1], &sfd)
		}
	}
	timed := regexp.MustCompile(` <\d+\.\d{6}>$`)
	for _, line := range lines {
		if !timed.MatchString(line) {
			t.Errorf("no -trace-time duration: %s", line)
		}
	}
	q := regexp.QuoteMeta
	want := []string{
		fmt.Sprintf(`^eventfd2\(0, EFD_CLOEXEC\|EFD_NONBLOCK\) = %d `, wfd),
		fmt.Sprintf(`^socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC\|SOCK_NONBLOCK, IPPROTO_TCP\) = %d `, lfd),
		q(fmt.Sprintf("setsockopt(%d, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0 ", lfd)),
		q(fmt.Sprintf(`bind(%d, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0 `, lfd)),
		q(fmt.Sprintf("listen(%d, 16) = 0 ", lfd)),
		q(fmt.Sprintf(`getsockname(%d, {sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("127.0.0.1")}, [112 => 16]) = 0 `, lfd, l.Addr().Port)),
		fmt.Sprintf(`^socket\(AF_INET, .*\) = %d `, cfd),
		q(fmt.Sprintf(`connect(%d, {sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress) `, cfd, l.Addr().Port)),
		fmt.Sprintf(`^ppoll\(\[\{fd=%d, events=POLLOUT\}\], 1, \{tv_sec=\d, tv_nsec=\d+\}, NULL, 0\) = 1 \(\[\{fd=%d, revents=POLLOUT\}\], left \{`, cfd, cfd),
		q(fmt.Sprintf("getsockopt(%d, SOL_SOCKET, SO_ERROR, [0], [4]) = 0 ", cfd)),
		fmt.Sprintf(`^getpeername\(%d, \{sa_family=AF_INET, sin_port=htons\(%d\), .*\[112 => 16\]\) = 0 `, cfd, l.Addr().Port),
		fmt.Sprintf(`^accept4\(%d, \{sa_family=AF_INET, sin_port=htons\(\d+\), sin_addr=inet_addr\("127.0.0.1"\)\}, \[112 => 16\], SOCK_CLOEXEC\|SOCK_NONBLOCK\) = %d `, lfd, sfd),
		q(fmt.Sprintf(`write(%d, "GET / HTTP/1.1\r\n\r\n", 18) = 18 `, cfd)),
		q(fmt.Sprintf(`read(%d, "GET / HTTP/1.1\r\n\r\n", 4096) = 18 `, sfd)),
		`^openat\(AT_FDCWD, ".*", O_RDONLY\|O_CLOEXEC\|O_PATH\|O_DIRECTORY\) = \d+ `,
		`^openat2\(\d+, "\.", \{flags=O_RDONLY\|O_CLOEXEC\|O_PATH, resolve=RESOLVE_NO_MAGICLINKS\|RESOLVE_BENEATH\}, 24\) = \d+ `,
		`^close\(\d+\) = 0 `,
		`^openat2\(\d+, "f.txt", \{flags=O_RDONLY\|O_NOCTTY\|O_NONBLOCK\|O_CLOEXEC, resolve=RESOLVE_NO_MAGICLINKS\|RESOLVE_BENEATH\}, 24\) = \d+ `,
		`^fstat\(\d+, \{st_mode=S_IFREG\|0644, st_size=10, \.\.\.\}\) = 0 `,
		fmt.Sprintf(`^sendfile\(%d, \d+, \[0\] => \[10\], 10\) = 10 `, sfd),
		`^close\(\d+\) = 0 `,
		`^openat2\(\d+, "nope", .* = -1 ENOENT \(No such file or directory\) `,
		`^openat\(AT_FDCWD, ".*/ready.tmp-[0-9a-z]+", O_WRONLY\|O_CREAT\|O_EXCL\|O_NOFOLLOW\|O_CLOEXEC, 0644\) = \d+ `,
		`^write\(\d+, "x\\n", 2\) = 2 `,
		`^close\(\d+\) = 0 `,
		`^renameat\(AT_FDCWD, ".*/ready.tmp-[0-9a-z]+", AT_FDCWD, ".*/ready"\) = 0 `,
		`^unlinkat\(AT_FDCWD, ".*/ready", 0\) = 0 `,
		q(fmt.Sprintf("shutdown(%d, SHUT_WR) = 0 ", sfd)),
		fmt.Sprintf(`^close\(%d\) = 0 `, sfd),
		q(fmt.Sprintf(`write(%d, "\1\0\0\0\0\0\0\0", 8) = 8 `, wfd)),
	}
	i := 0
	for _, line := range lines {
		if i < len(want) && regexp.MustCompile(want[i]).MatchString(line) {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("narration stops matching at %s:\n%s", want[i], out.String())
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lineCounter checks that each Write is one whole line.
type lineCounter struct {
	mu     sync.Mutex
	lines  int
	broken []string
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines++
	if bytes.Count(p, []byte("\n")) != 1 || p[len(p)-1] != '\n' {
		c.broken = append(c.broken, string(p))
	}
	return len(p), nil
}

// Narration from two goroutines at once — the serving loop and the signal
// goroutine's Wake — comes out as whole lines, one Write each (and -race
// finds no race on the shared buffer).
func TestTraceConcurrent(t *testing.T) {
	var lc lineCounter
	SetTrace(&lc, true)
	defer SetTrace(nil, false)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		c, peer := pair(t, &Poller{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 64)
			for i := 0; i < 200; i++ {
				c.Write(b)
				unix.Read(peer, b)
			}
		}()
	}
	for i := 0; i < 50; i++ {
		w, err := NewWaker()
		if err != nil {
			t.Fatal(err)
		}
		w.Wake()
		w.Close()
	}
	wg.Wait()
	SetTrace(nil, false)
	if lc.lines != 4*200+3*50 || len(lc.broken) > 0 {
		t.Errorf("%d lines, want %d; broken: %q", lc.lines, 4*200+3*50, lc.broken)
	}
}

// readWriter is a socketpair as two Conns, for the hot path: a Write on one,
// a Read on the other.
func readWriter(tb testing.TB) (w, r *Conn) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	w, r = &Conn{fd: fds[0], poller: &Poller{}}, &Conn{fd: fds[1], poller: &Poller{}}
	tb.Cleanup(func() { w.Abort(); r.Abort() })
	return w, r
}

// Narration off costs no allocation; on, with its buffer grown, none either.
func TestTraceNoAlloc(t *testing.T) {
	w, r := readWriter(t)
	msg, buf := make([]byte, 64), make([]byte, 64)
	round := func() {
		w.Write(msg)
		r.Read(buf)
	}
	SetTrace(nil, false)
	if n := testing.AllocsPerRun(1000, round); n != 0 {
		t.Errorf("narration off: %v allocations per Write+Read, want 0", n)
	}
	var discard lineCounter
	SetTrace(&discard, true)
	defer SetTrace(nil, false)
	if n := testing.AllocsPerRun(1000, round); n != 0 {
		t.Errorf("narration on: %v allocations per Write+Read, want 0", n)
	}
}

// BenchmarkTraceOff measures the hot path — Conn.Write then Conn.Read of 64
// bytes on a socketpair — with narration compiled in but off, against the
// same loop calling unix.Write and unix.Read directly. The two loops run in
// alternating slices of 1000 rounds, so that drift in the machine's speed
// falls on both; "off/raw" is their ratio (1.00: the wrappers cost nothing
// measurable beyond the system calls).
func BenchmarkTraceOff(b *testing.B) {
	SetTrace(nil, false)
	w, r := readWriter(b)
	msg, buf := make([]byte, 64), make([]byte, 64)
	var wrapped, raw time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(1000, b.N-done)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			w.Write(msg)
			r.Read(buf)
		}
		t1 := time.Now()
		for i := 0; i < n; i++ {
			unix.Write(w.fd, msg)
			unix.Read(r.fd, buf)
		}
		raw += time.Since(t1)
		wrapped += t1.Sub(t0)
		done += n
	}
	b.ReportMetric(float64(wrapped)/float64(raw), "off/raw")
	b.ReportMetric(float64(wrapped.Nanoseconds())/float64(b.N), "wrapped-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/op")
}

// BenchmarkTraceOn is the same Write+Read, narrated to a discarding writer:
// the cost of formatting two lines.
func BenchmarkTraceOn(b *testing.B) {
	var discard lineCounter
	SetTrace(&discard, false)
	defer SetTrace(nil, false)
	w, r := readWriter(b)
	msg, buf := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.Write(msg)
		r.Read(buf)
	}
}

// Switching narration off waits for a call already begun — the signal
// goroutine's Wake at exit — so that its line is not lost; a call that
// never reached the kernel (a path with a NUL, which x/sys refuses) has no
// line and does not hold it up.
func TestTraceOffWaits(t *testing.T) {
	var out lockedBuf
	SetTrace(&out, false)
	r, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Open("a\x00b"); err == nil {
		t.Fatal("opened a path with a NUL")
	}
	sp := begin(cClose)
	go func() {
		time.Sleep(50 * time.Millisecond)
		sp.close(99, unix.EBADF)
	}()
	t0 := time.Now()
	SetTrace(nil, false)
	if d := time.Since(t0); d < 40*time.Millisecond || d > 900*time.Millisecond {
		t.Errorf("SetTrace(nil) returned after %v, want about 50ms", d)
	}
	if got := out.String(); strings.Contains(got, "a\\0b") || !strings.HasSuffix(got, "close(99) = -1 EBADF (Bad file descriptor)\n") {
		t.Errorf("narration:\n%s", got)
	}
}

// Reopen narrates open, fstat, dup3 onto the root's descriptor, and close;
// Stat a newfstatat from AT_FDCWD — as strace shows them.
func TestTraceReopen(t *testing.T) {
	dir := t.TempDir()
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	SetTrace(&out, false)
	Stat(dir)
	r.Reopen(dir)
	SetTrace(nil, false)
	q := regexp.QuoteMeta
	want := regexp.MustCompile(`^` + q(`newfstatat(AT_FDCWD, "`+dir+`", {st_mode=S_IFDIR|0`) + `\d+` + q(`, st_size=`) + `\d+` + q(`, ...}, 0) = 0`) + `\n` +
		q(`openat(AT_FDCWD, "`+dir+`", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY) = `) + `(\d+)\n` +
		`fstat\((\d+), \{st_mode=S_IFDIR\|0\d+, st_size=\d+, \.\.\.\}\) = 0\n` +
		fmt.Sprintf(`dup3\((\d+), %d, O_CLOEXEC\) = %d\n`, r.fd, r.fd) +
		`close\((\d+)\) = 0\n$`)
	m := want.FindStringSubmatch(out.String())
	if m == nil || m[1] != m[2] || m[1] != m[3] || m[1] != m[4] {
		t.Errorf("narration:\n%s", out.String())
	}
}
