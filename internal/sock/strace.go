package sock

// strace's syntax: how each system call the seam makes is printed, as strace
// prints it, for the tracer (trace.go) to write. Nothing here makes a call or
// reaches into a wrapper: each narration takes the call's arguments and
// results and appends text.
//
// The syntax is strace's with -a0 (no padding before " = ") and its default
// -s 32: a buffer is quoted up to 32 bytes, escaped as C does (\r, \n, \t, \v,
// \f, \", \\, octal for the rest), with "..." when it was longer; a path is
// quoted whole. Errors read "-1 EAGAIN (Resource temporarily unavailable)".
// -trace-time appends strace -T's " <0.000012>": here the time from just
// before the call to just after it in Go, a little more than strace's
// kernel-side measure.
//
// Where strace and the narration differ, the narration says what the call
// returned to us: a ppoll interrupted by a signal is "= ? ERESTARTNOHAND" in
// strace, the kernel's internal code, and "= -1 EINTR" here, which is what the
// program saw (strace shows no second line for it).

import (
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ret ends the argument list and appends the result: ") = r", or
// ") = -1 EAGAIN (Resource temporarily unavailable)" when err is set.
func ret(b []byte, r int64, err error) []byte {
	b = append(b, ") = "...)
	if err == nil {
		return strconv.AppendInt(b, r, 10)
	}
	return appendErrno(append(b, "-1 "...), err)
}

// appendErrno appends "ENAME (Message)", strace's form: the message is
// strerror's, which Go keeps with a lower-case first letter.
func appendErrno(b []byte, err error) []byte {
	e, ok := err.(unix.Errno)
	if !ok {
		return append(b, err.Error()...)
	}
	name := unix.ErrnoName(e)
	if name == "" {
		return strconv.AppendUint(b, uint64(e), 10)
	}
	b = append(append(b, name...), " ("...)
	msg := e.Error()
	if msg != "" && 'a' <= msg[0] && msg[0] <= 'z' {
		b = append(b, msg[0]-'a'+'A')
		msg = msg[1:]
	}
	return append(append(b, msg...), ')')
}

// appendDuration appends strace -T's " <0.000012>": seconds, to the
// microsecond.
func appendDuration(b []byte, d time.Duration) []byte {
	b = append(b, " <"...)
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	b = append(b, '.')
	us := int64(d%time.Second) / 1000
	for p := int64(100000); p > 1 && us < p; p /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, us, 10)
	return append(b, '>')
}

func sep(b []byte) []byte { return append(b, ", "...) }

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

// appendPtr appends an address the way strace prints one it does not decode.
func appendPtr(b []byte, p unsafe.Pointer) []byte {
	if p == nil {
		return append(b, "NULL"...)
	}
	return strconv.AppendUint(append(b, "0x"...), uint64(uintptr(p)), 16)
}

// appendDirfd appends a directory fd, AT_FDCWD by name.
func appendDirfd(b []byte, fd int) []byte {
	if fd == unix.AT_FDCWD {
		return append(b, "AT_FDCWD"...)
	}
	return appendInt(b, fd)
}

// maxStrlen is strace's default -s: buffers are shown up to 32 bytes.
const maxStrlen = 32

// appendBuf quotes the first n bytes of p as strace quotes a buffer: at most
// 32 of them, then "..." if there were more.
func appendBuf(b []byte, p []byte, n int) []byte {
	if n > len(p) {
		n = len(p)
	}
	if n > maxStrlen {
		return append(appendQuoted(b, p[:maxStrlen]), "..."...)
	}
	return appendQuoted(b, p[:n])
}

// appendPath quotes a path as strace does: whole (up to PATH_MAX).
func appendPath(b []byte, path string) []byte {
	n := min(len(path), unix.PathMax)
	b = append(b, '"')
	for i := 0; i < n; i++ {
		b = appendQuotedByte(b, path[i], i+1 < n && '0' <= path[i+1] && path[i+1] <= '7')
	}
	b = append(b, '"')
	if n < len(path) {
		b = append(b, "..."...)
	}
	return b
}

// appendQuoted is strace's string_quote: printable ASCII as is, C escapes
// for \t \n \v \f \r " and \, and octal for everything else — three digits
// when the next byte is an octal digit, as few as needed otherwise.
func appendQuoted(b []byte, p []byte) []byte {
	b = append(b, '"')
	for i, c := range p {
		b = appendQuotedByte(b, c, i+1 < len(p) && '0' <= p[i+1] && p[i+1] <= '7')
	}
	return append(b, '"')
}

func appendQuotedByte(b []byte, c byte, octalNext bool) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\v':
		return append(b, '\\', 'v')
	}
	if ' ' <= c && c < 0x7f {
		return append(b, c)
	}
	b = append(b, '\\')
	if octalNext || c>>6 != 0 {
		b = append(b, '0'+c>>6)
	}
	if octalNext || c>>3 != 0 {
		b = append(b, '0'+(c>>3)&7)
	}
	return append(b, '0'+c&7)
}

// flag is one named bit for appendFlags.
type flag struct {
	v    uint64
	name string
}

// appendFlags appends v as strace does: the named bits in the table's order
// (strace's), joined by |, then any bits left over in hex; "0" for none.
func appendFlags(b []byte, v uint64, table []flag) []byte {
	first := true
	for _, f := range table {
		if v&f.v == f.v && f.v != 0 {
			if !first {
				b = append(b, '|')
			}
			b, first = append(b, f.name...), false
			v &^= f.v
		}
	}
	if v != 0 || first {
		if !first {
			b = append(b, '|')
		}
		if v == 0 {
			return append(b, '0')
		}
		b = strconv.AppendUint(append(b, "0x"...), v, 16)
	}
	return b
}

var sockFlags = []flag{{unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"}, {unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"}}

// openFlags is strace's open_mode_flags order, for the flags besides the
// access mode.
var openFlags = []flag{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_SYNC, "O_SYNC"}, {unix.O_DSYNC, "O_DSYNC"}, {unix.O_ASYNC, "O_ASYNC"},
	{unix.O_DIRECT, "O_DIRECT"}, {unix.O_LARGEFILE, "O_LARGEFILE"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"}, {unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"},
	{unix.O_TMPFILE, "O_TMPFILE"}, {unix.O_DIRECTORY, "O_DIRECTORY"},
}

func appendOpenFlags(b []byte, flags uint64) []byte {
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		b = append(b, "O_RDONLY"...)
	case unix.O_WRONLY:
		b = append(b, "O_WRONLY"...)
	case unix.O_RDWR:
		b = append(b, "O_RDWR"...)
	default:
		b = append(b, "O_ACCMODE"...)
	}
	if rest := flags &^ unix.O_ACCMODE; rest != 0 {
		b = appendFlags(append(b, '|'), rest, openFlags)
	}
	return b
}

var resolveNames = []flag{
	{unix.RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV"}, {unix.RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS"},
	{unix.RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS"}, {unix.RESOLVE_BENEATH, "RESOLVE_BENEATH"},
	{unix.RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT"}, {0x20, "RESOLVE_CACHED"},
}

var eventfdFlags = []flag{{unix.EFD_SEMAPHORE, "EFD_SEMAPHORE"}, {unix.EFD_CLOEXEC, "EFD_CLOEXEC"}, {unix.EFD_NONBLOCK, "EFD_NONBLOCK"}}

var pollFlags = []flag{
	{unix.POLLIN, "POLLIN"}, {unix.POLLPRI, "POLLPRI"}, {unix.POLLOUT, "POLLOUT"},
	{unix.POLLERR, "POLLERR"}, {unix.POLLHUP, "POLLHUP"}, {unix.POLLNVAL, "POLLNVAL"},
	// Not in x/sys/unix; the values are asm-generic/poll.h's.
	{0x40, "POLLRDNORM"}, {0x80, "POLLRDBAND"}, {0x100, "POLLWRNORM"}, {0x200, "POLLWRBAND"},
	{0x400, "POLLMSG"}, {0x1000, "POLLREMOVE"}, {unix.POLLRDHUP, "POLLRDHUP"},
}

// appendMode appends a mode as strace's %#03o does: 0644, 000.
func appendMode(b []byte, m uint32) []byte {
	digits := 1 // of m in octal, with the leading 0 that # adds
	for v := m; v != 0; v >>= 3 {
		digits++
	}
	for ; digits < 3; digits++ {
		b = append(b, '0')
	}
	if m != 0 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, uint64(m), 8)
}

// appendFamily names an address family.
func appendFamily(b []byte, f int) []byte {
	switch f {
	case unix.AF_INET:
		return append(b, "AF_INET"...)
	case unix.AF_INET6:
		return append(b, "AF_INET6"...)
	case unix.AF_UNIX:
		return append(b, "AF_UNIX"...)
	}
	return appendInt(b, f)
}

// appendSockaddr decodes an IPv4 or IPv6 address as strace does. flowinfo
// and scope are the IPv6 fields Addr does not keep.
func appendSockaddr(b []byte, a Addr, flowinfo, scope uint32) []byte {
	if !a.Is6 {
		b = append(b, "{sa_family=AF_INET, sin_port=htons("...)
		b = appendInt(b, a.Port)
		b = append(b, "), sin_addr=inet_addr(\""...)
		b = appendIPv4(b, a.IP[:4])
		return append(b, "\")}"...)
	}
	b = append(b, "{sa_family=AF_INET6, sin6_port=htons("...)
	b = appendInt(b, a.Port)
	b = append(b, "), sin6_flowinfo=htonl("...)
	b = strconv.AppendUint(b, uint64(flowinfo), 10)
	b = append(b, "), inet_pton(AF_INET6, \""...)
	b = appendInet6(b, &a.IP)
	b = append(b, "\", &sin6_addr), sin6_scope_id="...)
	b = strconv.AppendUint(b, uint64(scope), 10)
	return append(b, '}')
}

// appendInet6 is glibc's inet_ntop for AF_INET6, which strace calls: RFC
// 5952 text, but with a dotted IPv4 tail for an IPv4-mapped address
// (::ffff:1.2.3.4) and for an IPv4-compatible one (::1.2.3.4; not ::1).
func appendInet6(b []byte, ip *[16]byte) []byte {
	zero := func(bs []byte) bool {
		for _, c := range bs {
			if c != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(ip[:10]) && ip[10] == 0xff && ip[11] == 0xff:
		return appendIPv4(append(b, "::ffff:"...), ip[12:])
	case zero(ip[:12]) && (ip[12] != 0 || ip[13] != 0):
		return appendIPv4(append(b, "::"...), ip[12:])
	}
	return appendIPv6(b, ip)
}

// appendRawSockaddr decodes what the kernel wrote into rsa.
func appendRawSockaddr(b []byte, rsa *unix.RawSockaddrAny) []byte {
	switch rsa.Addr.Family {
	case unix.AF_INET, unix.AF_INET6:
		var flow, scope uint32
		if rsa.Addr.Family == unix.AF_INET6 {
			sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
			flow, scope = ntohl(sa.Flowinfo), sa.Scope_id
		}
		return appendSockaddr(b, decodeSockaddr(rsa), flow, scope)
	}
	b = append(b, "{sa_family="...)
	return append(appendFamily(b, int(rsa.Addr.Family)), ", ...}"...)
}

// ntohl reads a 32-bit value stored in network byte order.
func ntohl(v uint32) uint32 {
	p := (*[4]byte)(unsafe.Pointer(&v))
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

func sockaddrLen(a Addr) int {
	if a.Is6 {
		return unix.SizeofSockaddrInet6
	}
	return unix.SizeofSockaddrInet4
}

// appendSize appends a value-result length: [112 => 16], or [112] when the
// kernel left it as it was or the call failed.
func appendSize(b []byte, in, out uint32, err error) []byte {
	b = strconv.AppendUint(append(b, '['), uint64(in), 10)
	if err == nil && out != in {
		b = strconv.AppendUint(append(b, " => "...), uint64(out), 10)
	}
	return append(b, ']')
}

// The narrations, one per system call, in the order a request meets them.

func (s span) socket(domain, typ, proto, fd int, err error) {
	b := s.line("socket")
	b = sep(appendFamily(b, domain))
	if typ&0xf == unix.SOCK_STREAM {
		b = append(b, "SOCK_STREAM"...)
	} else {
		b = appendInt(b, typ&0xf)
	}
	if f := uint64(typ &^ 0xf); f != 0 {
		b = appendFlags(append(b, '|'), f, sockFlags)
	}
	b = sep(b)
	switch proto {
	case unix.IPPROTO_TCP:
		b = append(b, "IPPROTO_TCP"...)
	case 0:
		b = append(b, "IPPROTO_IP"...)
	default:
		b = appendInt(b, proto)
	}
	s.flush(ret(b, int64(fd), err))
}

// setsockoptInt narrates setsockopt(2) with an int value.
func (s span) setsockoptInt(fd, level, opt, val int, err error) {
	b := s.line("setsockopt")
	b = sep(appendInt(b, fd))
	b = sep(appendSockopt(b, level, opt))
	b = append(appendInt(append(b, '['), val), "], 4"...)
	s.flush(ret(b, 0, err))
}

// getsockoptInt narrates getsockopt(2) with an int value; SO_ERROR's value
// is an errno, decoded as strace decodes it.
func (s span) getsockoptInt(fd, level, opt, val int, err error) {
	b := s.line("getsockopt")
	b = sep(appendInt(b, fd))
	b = sep(appendSockopt(b, level, opt))
	switch {
	case err != nil:
		b = append(b, "0x..."...) // the value's address, inside unix.GetsockoptInt
	case level == unix.SOL_SOCKET && opt == unix.SO_ERROR && val != 0 && unix.ErrnoName(unix.Errno(val)) != "":
		b = append(append(append(b, '['), unix.ErrnoName(unix.Errno(val))...), ']')
	default:
		b = append(appendInt(append(b, '['), val), ']')
	}
	b = append(b, ", [4]"...)
	s.flush(ret(b, 0, err))
}

// setsockoptLinger narrates setsockopt(2) of SO_LINGER.
func (s span) setsockoptLinger(fd int, l *unix.Linger, err error) {
	b := s.line("setsockopt")
	b = sep(appendSockopt(sep(appendInt(b, fd)), unix.SOL_SOCKET, unix.SO_LINGER))
	b = appendInt(append(b, "{l_onoff="...), int(l.Onoff))
	b = appendInt(append(b, ", l_linger="...), int(l.Linger))
	b = append(b, "}, 8"...)
	s.flush(ret(b, 0, err))
}

// ioctlInt narrates ioctl(2) of a request that writes an int. strace names
// SIOCOUTQ by the terminal request it shares a number with, TIOCOUTQ.
func (s span) ioctlInt(fd int, req uint, v int, err error) {
	b := sep(appendInt(s.line("ioctl"), fd))
	switch req {
	case unix.SIOCOUTQ:
		b = append(b, "TIOCOUTQ"...)
	case unix.SIOCOUTQNSD:
		b = append(b, "SIOCOUTQNSD"...)
	default:
		b = strconv.AppendUint(append(b, "0x"...), uint64(req), 16)
	}
	if err != nil {
		b = append(b, ", 0x..."...) // the value's address, inside unix.IoctlGetInt
	} else {
		b = append(appendInt(append(b, ", ["...), v), ']')
	}
	s.flush(ret(b, 0, err))
}

// appendSockopt appends "SOL_SOCKET, SO_REUSEADDR".
func appendSockopt(b []byte, level, opt int) []byte {
	switch level {
	case unix.SOL_SOCKET:
		b = append(b, "SOL_SOCKET, "...)
		switch opt {
		case unix.SO_REUSEADDR:
			return append(b, "SO_REUSEADDR"...)
		case unix.SO_REUSEPORT:
			return append(b, "SO_REUSEPORT"...)
		case unix.SO_ERROR:
			return append(b, "SO_ERROR"...)
		case unix.SO_SNDBUF:
			return append(b, "SO_SNDBUF"...)
		case unix.SO_RCVBUF:
			return append(b, "SO_RCVBUF"...)
		case unix.SO_LINGER:
			return append(b, "SO_LINGER"...)
		}
	case unix.IPPROTO_TCP:
		b = append(b, "SOL_TCP, "...)
		if opt == unix.TCP_NODELAY {
			return append(b, "TCP_NODELAY"...)
		}
	case unix.IPPROTO_IPV6:
		b = append(b, "SOL_IPV6, "...)
		if opt == unix.IPV6_V6ONLY {
			return append(b, "IPV6_V6ONLY"...)
		}
	default:
		b = append(appendInt(b, level), ", "...)
	}
	return appendInt(b, opt)
}

// addrCall narrates bind(2) or connect(2) of a.
func (s span) addrCall(name string, fd int, a Addr, err error) {
	b := s.line(name)
	b = sep(appendInt(b, fd))
	if a.Wildcard {
		a.IP = [16]byte{} // what Sockaddr sends
	}
	b = sep(appendSockaddr(b, a, 0, 0))
	b = appendInt(b, sockaddrLen(a))
	s.flush(ret(b, 0, err))
}

func (s span) listen(fd, backlog int, err error) {
	b := s.line("listen")
	b = appendInt(sep(appendInt(b, fd)), backlog)
	s.flush(ret(b, 0, err))
}

// nameCall narrates getsockname(2) or getpeername(2) into rsa.
func (s span) nameCall(name string, fd int, rsa *unix.RawSockaddrAny, size uint32, err error) {
	b := s.line(name)
	b = sep(appendInt(b, fd))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(rsa))
	} else {
		b = appendRawSockaddr(b, rsa)
	}
	b = appendSize(sep(b), unix.SizeofSockaddrAny, size, err)
	s.flush(ret(b, 0, err))
}

func (s span) accept4(fd int, rsa *unix.RawSockaddrAny, size uint32, flags, nfd int, err error) {
	b := s.line("accept4")
	b = sep(appendInt(b, fd))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(rsa))
	} else {
		b = appendRawSockaddr(b, rsa)
	}
	b = sep(appendSize(sep(b), unix.SizeofSockaddrAny, size, err))
	b = appendFlags(b, uint64(flags), sockFlags)
	s.flush(ret(b, int64(nfd), err))
}

// read narrates read(2) into p: what arrived, or p's address on error.
func (s span) read(fd int, p []byte, n int, err error) {
	b := s.line("read")
	b = sep(appendInt(b, fd))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(unsafe.SliceData(p)))
	} else {
		b = appendBuf(b, p, n)
	}
	b = appendInt(sep(b), len(p))
	s.flush(ret(b, int64(n), err))
}

// write narrates write(2) of p, which strace shows whatever the result.
func (s span) write(fd int, p []byte, n int, err error) {
	b := s.line("write")
	if !resumed(b) {
		b = appendWriteArgs(b, fd, p)
	}
	s.flush(ret(b, int64(n), err))
}

func appendWriteArgs(b []byte, fd int, p []byte) []byte {
	b = sep(appendInt(b, fd))
	return appendInt(sep(appendBuf(b, p, len(p))), len(p))
}

// writeStarts notes a write's first half (Threads mode): the waker's write,
// made by the signal goroutine, wakes a loop whose wait returns before the
// write does — strace shows the write begun first, and so must we.
func (s span) writeStarts(fd int, p []byte) {
	if s.t.threads {
		s.waitStarts("write", appendWriteArgs(nil, fd, p))
	}
}

// sendfile narrates sendfile(2): the offset before and, when bytes moved,
// after ("[0] => [65536]").
func (s span) sendfile(out, in int, before, after int64, count, n int, err error) {
	b := s.line("sendfile")
	b = sep(appendInt(sep(appendInt(b, out)), in))
	b = append(strconv.AppendInt(append(b, '['), before, 10), ']')
	if err == nil && n != 0 {
		b = append(strconv.AppendInt(append(b, " => ["...), after, 10), ']')
	}
	b = appendInt(sep(b), count)
	s.flush(ret(b, int64(n), err))
}

// ppoll narrates ppoll(2): the set with its events, the timeout it was
// given (in; the kernel overwrites *out with what was left), and on return
// the fds that are ready — or "Timeout".
func (s span) ppoll(fds []unix.PollFd, in, out *unix.Timespec, n int, err error) {
	b := s.line("ppoll")
	if !resumed(b) {
		b = appendPpollArgs(b, fds, in)
	}
	s.flush(appendPpollResult(b, fds, out, n, err))
}

// ppollStarts notes a ppoll's first half (Threads mode).
func (s span) ppollStarts(fds []unix.PollFd, in *unix.Timespec) {
	if s.t.threads {
		s.waitStarts("ppoll", appendPpollArgs(nil, fds, in))
	}
}

// appendPpollArgs appends what ppoll reads, all strace shows as the call
// starts: the set with its events, its length and the timeout.
func appendPpollArgs(b []byte, fds []unix.PollFd, timeout *unix.Timespec) []byte {
	if len(fds) == 0 {
		b = append(b, "NULL"...)
	} else {
		b = append(b, '[')
		for i := range fds {
			if i > 0 {
				b = sep(b)
			}
			b = appendInt(append(b, "{fd="...), int(fds[i].Fd))
			b = appendFlags(append(b, ", events="...), uint64(uint16(fds[i].Events)), pollFlags)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendInt(sep(b), len(fds))
	b = sep(b)
	if timeout == nil {
		b = append(b, "NULL"...)
	} else {
		b = appendTimespec(b, timeout)
	}
	return append(b, ", NULL, 0"...)
}

// appendPpollResult appends what ppoll returned: the count, then the fds
// that are ready and the time left, or "Timeout".
func appendPpollResult(b []byte, fds []unix.PollFd, left *unix.Timespec, n int, err error) []byte {
	b = ret(b, int64(n), err)
	switch {
	case err != nil:
	case n == 0:
		b = append(b, " (Timeout)"...)
	default:
		b = append(b, " (["...)
		first := true
		for i := range fds {
			if fds[i].Revents == 0 {
				continue
			}
			if !first {
				b = sep(b)
			}
			first = false
			b = appendInt(append(b, "{fd="...), int(fds[i].Fd))
			b = appendFlags(append(b, ", revents="...), uint64(uint16(fds[i].Revents)), pollFlags)
			b = append(b, '}')
		}
		b = append(b, ']')
		if left != nil {
			b = appendTimespec(append(b, ", left "...), left)
		}
		b = append(b, ')')
	}
	return b
}

func appendTimespec(b []byte, ts *unix.Timespec) []byte {
	b = strconv.AppendInt(append(b, "{tv_sec="...), int64(ts.Sec), 10)
	b = strconv.AppendInt(append(b, ", tv_nsec="...), int64(ts.Nsec), 10)
	return append(b, '}')
}

func (s span) shutdown(fd, how int, err error) {
	b := s.line("shutdown")
	b = appendHow(sep(appendInt(b, fd)), how)
	s.flush(ret(b, 0, err))
}

// appendHow names shutdown's how: SHUT_WR.
func appendHow(b []byte, how int) []byte {
	switch how {
	case unix.SHUT_RD:
		return append(b, "SHUT_RD"...)
	case unix.SHUT_WR:
		return append(b, "SHUT_WR"...)
	case unix.SHUT_RDWR:
		return append(b, "SHUT_RDWR"...)
	}
	return appendInt(b, how)
}

func (s span) close(fd int, err error) {
	s.flush(ret(appendInt(s.line("close"), fd), 0, err))
}

func (s span) eventfd2(initval uint, flags, fd int, err error) {
	b := s.line("eventfd2")
	b = strconv.AppendUint(b, uint64(initval), 10)
	b = appendFlags(sep(b), uint64(flags), eventfdFlags)
	s.flush(ret(b, int64(fd), err))
}

// openat narrates openat(2); unix.Open is openat(AT_FDCWD, ...). The mode
// is shown only when the call can create a file, as strace shows it.
func (s span) openat(dirfd int, path string, flags int, mode uint32, fd int, err error) {
	if strings.IndexByte(path, 0) >= 0 {
		s.skip() // x/sys refused it: no system call was made
		return
	}
	b := s.line("openat")
	b = sep(appendDirfd(b, dirfd))
	b = appendOpenFlags(sep(appendPath(b, path)), uint64(flags))
	if flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE {
		b = appendMode(sep(b), mode)
	}
	s.flush(ret(b, int64(fd), err))
}

func (s span) openat2(dirfd int, path string, how *unix.OpenHow, fd int, err error) {
	if strings.IndexByte(path, 0) >= 0 {
		s.skip()
		return
	}
	b := s.line("openat2")
	b = sep(appendDirfd(b, dirfd))
	b = append(sep(appendPath(b, path)), "{flags="...)
	b = appendOpenFlags(b, how.Flags)
	if how.Mode != 0 || how.Flags&unix.O_CREAT != 0 {
		b = appendMode(append(b, ", mode="...), uint32(how.Mode))
	}
	b = appendFlags(append(b, ", resolve="...), how.Resolve, resolveNames)
	b = appendInt(append(b, "}, "...), unix.SizeofOpenHow)
	s.flush(ret(b, int64(fd), err))
}

// appendStat is strace's short form of a struct stat.
func appendStat(b []byte, st *unix.Stat_t) []byte {
	b = appendFileMode(append(b, "{st_mode="...), st.Mode)
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		b = append(b, ", st_rdev=makedev("...)
		b = appendHexC(b, uint64(unix.Major(st.Rdev)))
		b = appendHexC(append(b, ", "...), uint64(unix.Minor(st.Rdev)))
		b = append(b, ')')
	} else {
		b = strconv.AppendInt(append(b, ", st_size="...), st.Size, 10)
	}
	return append(b, ", ...}"...)
}

// appendFileMode is a st_mode as strace prints it: S_IFREG|0644.
func appendFileMode(b []byte, mode uint32) []byte {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		b = append(b, "S_IFREG"...)
	case unix.S_IFDIR:
		b = append(b, "S_IFDIR"...)
	case unix.S_IFLNK:
		b = append(b, "S_IFLNK"...)
	case unix.S_IFCHR:
		b = append(b, "S_IFCHR"...)
	case unix.S_IFBLK:
		b = append(b, "S_IFBLK"...)
	case unix.S_IFIFO:
		b = append(b, "S_IFIFO"...)
	case unix.S_IFSOCK:
		b = append(b, "S_IFSOCK"...)
	default:
		b = appendMode(b, mode&unix.S_IFMT)
	}
	for _, f := range [...]flag{{unix.S_ISUID, "S_ISUID"}, {unix.S_ISGID, "S_ISGID"}, {unix.S_ISVTX, "S_ISVTX"}} {
		if uint64(mode)&f.v != 0 {
			b = append(append(b, '|'), f.name...)
		}
	}
	return appendMode(append(b, '|'), mode&0o777)
}

// statxMasks is strace's statx_masks, in its order: the sums first.
var statxMasks = []flag{
	{0xfff, "STATX_ALL"}, {unix.STATX_BASIC_STATS, "STATX_BASIC_STATS"},
	{unix.STATX_TYPE, "STATX_TYPE"}, {unix.STATX_MODE, "STATX_MODE"}, {unix.STATX_NLINK, "STATX_NLINK"},
	{unix.STATX_UID, "STATX_UID"}, {unix.STATX_GID, "STATX_GID"}, {unix.STATX_ATIME, "STATX_ATIME"},
	{unix.STATX_MTIME, "STATX_MTIME"}, {unix.STATX_CTIME, "STATX_CTIME"}, {unix.STATX_INO, "STATX_INO"},
	{unix.STATX_SIZE, "STATX_SIZE"}, {unix.STATX_BLOCKS, "STATX_BLOCKS"}, {unix.STATX_BTIME, "STATX_BTIME"},
	{unix.STATX_MNT_ID, "STATX_MNT_ID"}, {unix.STATX_DIOALIGN, "STATX_DIOALIGN"},
}

// statxAttrs is strace's statx_attrs.
var statxAttrs = []flag{
	{unix.STATX_ATTR_COMPRESSED, "STATX_ATTR_COMPRESSED"}, {unix.STATX_ATTR_IMMUTABLE, "STATX_ATTR_IMMUTABLE"},
	{unix.STATX_ATTR_APPEND, "STATX_ATTR_APPEND"}, {unix.STATX_ATTR_NODUMP, "STATX_ATTR_NODUMP"},
	{unix.STATX_ATTR_ENCRYPTED, "STATX_ATTR_ENCRYPTED"}, {unix.STATX_ATTR_AUTOMOUNT, "STATX_ATTR_AUTOMOUNT"},
	{unix.STATX_ATTR_MOUNT_ROOT, "STATX_ATTR_MOUNT_ROOT"}, {unix.STATX_ATTR_VERITY, "STATX_ATTR_VERITY"},
	{unix.STATX_ATTR_DAX, "STATX_ATTR_DAX"},
}

// appendHexC is C's %#x: 0x1f, but 0 for zero.
func appendHexC(b []byte, v uint64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	return strconv.AppendUint(append(b, "0x"...), v, 16)
}

func (s span) fstat(fd int, st *unix.Stat_t, err error) {
	b := s.line("fstat")
	b = sep(appendInt(b, fd))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(st))
	} else {
		b = appendStat(b, st)
	}
	s.flush(ret(b, 0, err))
}

// statx narrates statx(2) in strace's short form: the sync type is always
// named, and of the struct only the mask, attributes, mode and size.
func (s span) statx(dirfd int, path string, flags, mask int, st *unix.Statx_t, err error) {
	b := s.line("statx")
	b = sep(appendPath(sep(appendDirfd(b, dirfd)), path))
	b = append(b, "AT_STATX_SYNC_AS_STAT"...)
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		b = append(b, "|AT_SYMLINK_NOFOLLOW"...)
	}
	b = sep(appendFlags(sep(b), uint64(mask), statxMasks))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(st))
	} else {
		b = appendFlags(append(b, "{stx_mask="...), uint64(st.Mask), statxMasks)
		b = appendFlags(append(b, ", stx_attributes="...), st.Attributes, statxAttrs)
		b = appendFileMode(append(b, ", stx_mode="...), uint32(st.Mode))
		b = strconv.AppendUint(append(b, ", stx_size="...), st.Size, 10)
		b = append(b, ", ...}"...)
	}
	s.flush(ret(b, 0, err))
}

// newfstatat narrates unix.Fstatat, which is newfstatat(2) on 64-bit Linux.
func (s span) newfstatat(dirfd int, path string, st *unix.Stat_t, flags int, err error) {
	if strings.IndexByte(path, 0) >= 0 {
		s.skip()
		return
	}
	b := s.line("newfstatat")
	b = sep(appendPath(sep(appendDirfd(b, dirfd)), path))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(st))
	} else {
		b = appendStat(b, st)
	}
	b = sep(b)
	if flags == unix.AT_SYMLINK_NOFOLLOW {
		b = append(b, "AT_SYMLINK_NOFOLLOW"...)
	} else {
		b = appendInt(b, flags)
	}
	s.flush(ret(b, 0, err))
}

var dup3Flags = []flag{{unix.O_CLOEXEC, "O_CLOEXEC"}}

// dup3 narrates dup3(2), which returns newfd.
func (s span) dup3(oldfd, newfd, flags int, err error) {
	b := s.line("dup3")
	b = sep(appendInt(sep(appendInt(b, oldfd)), newfd))
	b = appendFlags(b, uint64(flags), dup3Flags)
	s.flush(ret(b, int64(newfd), err))
}

// getdents64 narrates unix.Getdents on buf: the address and size it passed
// (it skips up to 7 bytes to align the buffer) and how many records came
// back, now at the start of buf.
func (s span) getdents64(fd int, buf []byte, n int, err error) {
	b := s.line("getdents64")
	b = sep(appendInt(b, fd))
	p, size := unsafe.Pointer(unsafe.SliceData(buf)), len(buf)
	if len(buf) > 0 {
		if off := int(-uintptr(p) & 7); off > 0 && off < len(buf) {
			p, size = unsafe.Pointer(&buf[off]), len(buf)-off
		}
	}
	b = appendPtr(b, p)
	if err == nil {
		entries := 0
		for r := buf[:n]; len(r) >= 19; entries++ {
			reclen := int(*(*uint16)(unsafe.Pointer(&r[16])))
			if reclen < 19 || reclen > len(r) {
				break
			}
			r = r[reclen:]
		}
		b = append(appendInt(append(b, " /* "...), entries), " entries */"...)
	}
	b = appendInt(sep(b), size)
	s.flush(ret(b, int64(n), err))
}

// renameat narrates unix.Rename, which is renameat(2) from AT_FDCWD.
func (s span) renameat(from, to string, err error) {
	if strings.IndexByte(from, 0) >= 0 || strings.IndexByte(to, 0) >= 0 {
		s.skip()
		return
	}
	b := s.line("renameat")
	b = sep(appendPath(append(b, "AT_FDCWD, "...), from))
	b = appendPath(append(b, "AT_FDCWD, "...), to)
	s.flush(ret(b, 0, err))
}

// unlinkat narrates unix.Unlink, which is unlinkat(2) from AT_FDCWD.
func (s span) unlinkat(path string, err error) {
	if strings.IndexByte(path, 0) >= 0 {
		s.skip()
		return
	}
	b := s.line("unlinkat")
	b = append(appendPath(append(b, "AT_FDCWD, "...), path), ", 0"...)
	s.flush(ret(b, 0, err))
}

// epollFlags is strace's epollevents order.
var epollFlags = []flag{
	{unix.EPOLLIN, "EPOLLIN"}, {unix.EPOLLPRI, "EPOLLPRI"}, {unix.EPOLLOUT, "EPOLLOUT"},
	{unix.EPOLLRDNORM, "EPOLLRDNORM"}, {unix.EPOLLRDBAND, "EPOLLRDBAND"},
	{unix.EPOLLWRNORM, "EPOLLWRNORM"}, {unix.EPOLLWRBAND, "EPOLLWRBAND"},
	{unix.EPOLLMSG, "EPOLLMSG"}, {unix.EPOLLERR, "EPOLLERR"}, {unix.EPOLLHUP, "EPOLLHUP"},
	{unix.EPOLLRDHUP, "EPOLLRDHUP"}, {unix.EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"},
	{unix.EPOLLWAKEUP, "EPOLLWAKEUP"}, {unix.EPOLLONESHOT, "EPOLLONESHOT"},
	{unix.EPOLLET, "EPOLLET"},
}

var epollCreateFlags = []flag{{unix.EPOLL_CLOEXEC, "EPOLL_CLOEXEC"}}

func (s span) epollCreate1(flags, fd int, err error) {
	s.flush(ret(appendFlags(s.line("epoll_create1"), uint64(flags), epollCreateFlags), int64(fd), err))
}

// appendEpollEvent appends one struct epoll_event as strace shows it:
// {events=EPOLLIN|EPOLLET, data={u32=7, u64=7}}.
func appendEpollEvent(b []byte, ev *unix.EpollEvent) []byte {
	b = appendFlags(append(b, "{events="...), uint64(ev.Events), epollFlags)
	b = strconv.AppendUint(append(b, ", data={u32="...), uint64(uint32(ev.Fd)), 10)
	u64 := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
	b = strconv.AppendUint(append(b, ", u64="...), u64, 10)
	return append(b, "}}"...)
}

func (s span) epollCtl(epfd, op, fd int, ev *unix.EpollEvent, err error) {
	b := sep(appendInt(s.line("epoll_ctl"), epfd))
	switch op {
	case unix.EPOLL_CTL_ADD:
		b = append(b, "EPOLL_CTL_ADD"...)
	case unix.EPOLL_CTL_DEL:
		b = append(b, "EPOLL_CTL_DEL"...)
	case unix.EPOLL_CTL_MOD:
		b = append(b, "EPOLL_CTL_MOD"...)
	}
	b = sep(appendInt(sep(b), fd))
	if ev == nil {
		b = append(b, "NULL"...)
	} else {
		b = appendEpollEvent(b, ev)
	}
	s.flush(ret(b, 0, err))
}

// epollWait narrates epoll_pwait(2) with no signal mask. strace shows only
// the epfd as the call starts: the events are what it returns.
func (s span) epollWait(epfd int, events []unix.EpollEvent, max, ms, n int, err error) {
	b := s.line("epoll_pwait")
	if !resumed(b) {
		b = sep(appendInt(b, epfd))
	}
	s.flush(appendEpollPwaitResult(b, events, max, ms, n, err))
}

// epollWaitStarts notes an epoll_pwait's first half (Threads mode).
func (s span) epollWaitStarts(epfd int) {
	if s.t.threads {
		s.waitStarts("epoll_pwait", sep(appendInt(nil, epfd)))
	}
}

// appendEpollPwaitResult appends the ready events — like strace, at most
// maxStrlen of them and then "..." — the rest of the arguments and the
// count.
func appendEpollPwaitResult(b []byte, events []unix.EpollEvent, max, ms, n int, err error) []byte {
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(unsafe.SliceData(events)))
	} else {
		b = append(b, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = sep(b)
			}
			if i == maxStrlen {
				b = append(b, "..."...)
				break
			}
			b = appendEpollEvent(b, &events[i])
		}
		b = append(b, ']')
	}
	b = appendInt(sep(appendInt(sep(b), max)), ms)
	b = append(b, ", NULL, 0"...)
	return ret(b, int64(n), err)
}

// pread64 narrates pread(2): what was read, then the count and the offset.
func (s span) pread64(fd int, p []byte, off int64, n int, err error) {
	b := sep(appendInt(s.line("pread64"), fd))
	if err != nil {
		b = appendPtr(b, unsafe.Pointer(unsafe.SliceData(p)))
	} else {
		b = appendBuf(b, p, n)
	}
	b = strconv.AppendInt(sep(appendInt(sep(b), len(p))), off, 10)
	s.flush(ret(b, int64(n), err))
}
