package sock

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Listener is a listening TCP socket: socket(2), setsockopt(2), bind(2) and
// listen(2) at birth, then accept4(2) in a loop that knows every errno the
// man page says to expect.
type Listener struct {
	fd     int
	addr   Addr
	poller *Poller

	// Deadline bounds Accept (zero: wait forever, or until the Waker fires).
	Deadline time.Time
	// OnBackoff, if set, hears about each EMFILE-style back-off, so the
	// server can say why it is not accepting.
	OnBackoff func(err error, delay time.Duration)

	calls int // accept4 calls made, for tests and the demo page
}

// DefaultBacklog is the kernel's own cap on the accept queue,
// /proc/sys/net/core/somaxconn: listen(2) silently clamps larger values to
// it, so asking for exactly that is asking for the most the kernel allows.
// 4096 is the default since Linux 5.4, used where /proc cannot be read.
//
// It reads the file with bare open/read/close: os.ReadFile would wake the Go
// runtime's own network poller (an epoll fd and an eventfd of its own), and
// strace would show a poller this server does not use.
func DefaultBacklog() int {
	fd, err := sysOpenat(unix.AT_FDCWD, "/proc/sys/net/core/somaxconn", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 4096
	}
	defer closeFD(fd)
	var b [32]byte
	n, err := sysRead(fd, b[:])
	if err != nil || n <= 0 {
		return 4096
	}
	if v, err := strconv.Atoi(strings.TrimSpace(string(b[:n]))); err == nil && v > 0 {
		return v
	}
	return 4096
}

// Listen opens a nonblocking listening socket on a. A wildcard address
// (":8080") becomes one dual-stack IPv6 socket on [::] that takes IPv4
// clients too (as ::ffff:a.b.c.d), falling back to 0.0.0.0 where the kernel
// has no IPv6. backlog <= 0 means DefaultBacklog. On error no fd is left open.
func Listen(a Addr, backlog int, p *Poller) (*Listener, error) {
	if backlog <= 0 {
		backlog = DefaultBacklog()
	}
	if a.Wildcard {
		six := a
		six.Is6 = true
		l, err := listen(six, backlog, p, false)
		if err == nil || !(errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EADDRNOTAVAIL)) {
			return l, err
		}
		a.Is6 = false
	}
	return listen(a, backlog, p, false)
}

// ListenGroup opens n listening sockets on one address, one for each event
// loop, sharing the port with SO_REUSEPORT: the kernel spreads incoming
// connections over them by a hash of each connection's addresses and ports,
// so no two loops ever wake for the same connection (see docs/models.md,
// "One loop per core"). polls[i] is listener i's Poller. On error no fd is
// left open.
//
// The first listener settles the port (a has port 0) and the family (a
// wildcard), and it binds *without* SO_REUSEPORT: if anything holds the port
// — another rawserve above all — bind fails with EADDRINUSE, as it does in
// the serial model. Only then is SO_REUSEPORT turned on, so that this
// process's other listeners may join it; a socket that sets SO_REUSEPORT
// after its bind stays in the group it made. (The limit: from then on,
// another process of the same user that sets SO_REUSEPORT before its bind
// could join too. Every later rawserve binds its first listener without it,
// and is refused.) With one loop, SO_REUSEPORT is never set.
func ListenGroup(a Addr, backlog int, polls []*Poller) ([]*Listener, error) {
	if backlog <= 0 {
		backlog = DefaultBacklog()
	}
	ls := make([]*Listener, 0, len(polls))
	fail := func(err error) ([]*Listener, error) {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	for i, p := range polls {
		var l *Listener
		var err error
		if i == 0 {
			l, err = Listen(a, backlog, p)
			if err == nil && len(polls) > 1 {
				err = l.shareWithSiblings()
				if err != nil {
					l.Close()
				}
			}
		} else {
			l, err = listen(ls[0].addr, backlog, p, true)
		}
		if err != nil {
			return fail(err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// shareWithSiblings turns SO_REUSEPORT on for a listener that is bound and
// listening already, so that the process's other listeners can bind its port
// (ListenGroup).
func (l *Listener) shareWithSiblings() error {
	if err := sysSetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// newSocket wraps socket(2): a TCP socket of a's family, listener or
// client alike. SOCK_NONBLOCK: accept4, connect and read must answer
// EAGAIN (or EINPROGRESS) rather than put the thread to sleep; we choose
// how to wait. SOCK_CLOEXEC: a child we exec must not inherit it (a
// listener would keep the port busy).
func newSocket(a Addr) (int, error) {
	family := unix.AF_INET
	if a.Is6 {
		family = unix.AF_INET6
	}
	fd, err := sysSocket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

func listen(a Addr, backlog int, p *Poller, reusePort bool) (*Listener, error) {
	fd, err := newSocket(a)
	if err != nil {
		return nil, err
	}
	if err := setupListener(fd, a, backlog, reusePort); err != nil {
		closeFD(fd)
		return nil, err
	}
	l := &Listener{fd: fd, addr: a, poller: p}
	if a.Port == 0 {
		// The kernel chose the port at bind: ask which, once, at start-up.
		bound, err := sysGetsockname(fd)
		if err != nil {
			closeFD(fd)
			return nil, os.NewSyscallError("getsockname", err)
		}
		l.addr.Port = bound.Port
	}
	return l, nil
}

func setupListener(fd int, a Addr, backlog int, reusePort bool) error {
	// SO_REUSEADDR lets a restarted server bind its port while connections
	// of the previous run still sit in TIME_WAIT. (It does not let two
	// listeners share a port: that is SO_REUSEPORT.)
	if err := sysSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	// TCP_NODELAY: send each write at once. Nagle's algorithm would hold
	// a small segment — a file's body sent by sendfile right behind the
	// head's write — until the client ACKs the head, and the client delays
	// that ACK by up to 40 ms: a small file would take 40 ms to arrive.
	// Connections inherit the option from the listener (Linux copies the
	// listener's socket at accept), so this costs one call at start-up, not
	// one per connection.
	if err := sysSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if reusePort {
		// Several sockets may bind this address and port, if each of them
		// sets SO_REUSEPORT and all belong to the same user (ListenGroup).
		if err := sysSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if a.Is6 {
		// A wildcard listener is dual-stack; an explicit IPv6 address
		// ("[::]:80", "[::1]:80") means IPv6 only. Linux's default comes
		// from net.ipv6.bindv6only, so say it either way.
		v6only := 1
		if a.Wildcard {
			v6only = 0
		}
		if err := sysSetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if err := sysBind(fd, a); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := sysListen(fd, backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// Addr is the address the listener is bound to, with the real port.
func (l *Listener) Addr() Addr { return l.addr }

// FD is the listening descriptor's number (for narration and tests).
func (l *Listener) FD() int { return l.fd }

// Close closes the listening socket; connections still queued in the
// backlog are reset by the kernel.
func (l *Listener) Close() error { return closeFD(l.fd) }

// AcceptInto takes the next connection from the kernel's accept queue,
// waiting for one if the queue is empty. The new connection is written into
// c, so a loop that serves one connection at a time can reuse one Conn and
// allocate nothing per accept.
//
// The loop exists because accept4 on a nonblocking socket says EAGAIN when
// the queue is empty; then we wait for the listener to become readable — a
// connection has completed its handshake — and call again.
func (l *Listener) AcceptInto(c *Conn) error {
	var info AcceptInfo
	var backoff time.Duration
	for {
		if l.poller.Waker.Woken() {
			// Shutting down: stop accepting, even connections already
			// queued. The kernel resets them when the listener closes.
			return ErrShutdown
		}
		err := l.tryAccept(c, &info)
		switch {
		case err == nil:
			return nil
		case err == ErrAgain:
			if err := l.poller.wait(l.fd, unix.POLLIN, l.Deadline, true); err != nil {
				return err
			}
			info.Waits++
		case IsOutOfResources(err):
			// The connection stays queued and the listener stays
			// readable, so waiting for readability would return at once
			// and spin. Back off instead, doubling from 5 ms to 1 s as Go's
			// net/http does, and retry: when a descriptor frees, the
			// queued client is served — it is not dropped.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			if !l.Deadline.IsZero() && time.Until(l.Deadline) < backoff {
				return ErrTimeout
			}
			if l.OnBackoff != nil {
				l.OnBackoff(err, backoff)
			}
			if err := l.poller.sleep(backoff); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// TryAcceptInto is one attempt at accept4(2), for an event loop: it never
// waits. It returns ErrAgain when the queue is empty (the loop hears from
// epoll when it is not), an error that IsOutOfResources when there is no
// descriptor or memory for the connection (it stays queued), or another
// error the listener cannot recover from.
func (l *Listener) TryAcceptInto(c *Conn) error {
	return l.tryAccept(c, &AcceptInfo{})
}

// tryAccept wraps accept4(2): a new nonblocking, close-on-exec socket in
// one call (the flags cost no extra fcntl).
func (l *Listener) tryAccept(c *Conn, info *AcceptInfo) error {
	for {
		l.calls++
		info.Calls++
		fd, peer, err := accept4Func(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
			info.Listener = l.addr
			info.Time = time.Now()
			*c = Conn{fd: fd, poller: l.poller, Peer: peer, Accept: *info}
			return nil
		case unix.EAGAIN:
			info.EAGAINs++
			return ErrAgain
		}
		if err == unix.EINTR || IsTransientAccept(err) {
			continue
		}
		return os.NewSyscallError("accept4", err)
	}
}

// IsTransientAccept reports the accept errors that are the client's
// problem, not the listener's: a connection that was reset while it waited
// in the queue (ECONNABORTED), and the network errors accept(2) says Linux
// passes through from the new socket. The next connection is taken.
func IsTransientAccept(err error) bool {
	switch err {
	case unix.ECONNABORTED, unix.EPROTO, unix.ENOPROTOOPT, unix.EHOSTDOWN, unix.ENONET,
		unix.EHOSTUNREACH, unix.EOPNOTSUPP, unix.ENETUNREACH, unix.ENETDOWN,
		unix.EPERM: // a firewall (netfilter) refused this connection
		return true
	}
	return false
}

// Adopt makes c the connection fd, which an accept submitted to an
// io_uring returned (Ring.Accept) on this listener: it asks the kernel for
// the peer's address with getpeername(2), which a multishot accept cannot
// give. On error fd is left open, for the caller to close.
func (l *Listener) Adopt(fd int, c *Conn) error {
	peer, err := sysGetpeername(fd)
	if err != nil {
		return os.NewSyscallError("getpeername", err)
	}
	*c = Conn{fd: fd, poller: l.poller, Peer: peer, Accept: AcceptInfo{Listener: l.addr, Time: time.Now()}}
	return nil
}

// IsOutOfResources reports the accept4 errors that mean "not now" rather
// than "never": out of descriptors (EMFILE: ours; ENFILE: the system's) or
// kernel memory. The connection stays queued; retrying once something has
// been freed serves it.
func IsOutOfResources(err error) bool {
	return errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) ||
		errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM)
}

// Accept is AcceptInto a new Conn.
func (l *Listener) Accept() (*Conn, error) {
	c := new(Conn)
	if err := l.AcceptInto(c); err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptInfo is the story of one Accept: how many accept4 calls it took,
// how many said EAGAIN, how many waits came between them.
type AcceptInfo struct {
	Calls, EAGAINs, Waits int
	Listener              Addr      // the listener's address: the connection's local port is its port
	Time                  time.Time // when accept4 returned the connection
}

// Conn is one accepted TCP connection.
type Conn struct {
	fd     int
	poller *Poller
	rdl    time.Time // read deadline
	wdl    time.Time // write deadline

	Peer   Addr       // the client, as accept4 reported it
	Accept AcceptInfo // how it was accepted
	Stats  ConnStats  // what the wrappers did for it so far
}

// ConnStats counts system calls made on one connection.
type ConnStats struct {
	Reads, Writes, Sendfiles, EAGAINs, Waits int
}

// FD is the connection's descriptor number (for narration and tests).
func (c *Conn) FD() int { return c.fd }

// SetReadDeadline bounds every later Read (zero: no bound).
func (c *Conn) SetReadDeadline(t time.Time) { c.rdl = t }

// SetWriteDeadline bounds every later Write and SendFile (zero: no bound).
func (c *Conn) SetWriteDeadline(t time.Time) { c.wdl = t }

// Read returns what the socket has, at most len(p) bytes, and io.EOF when
// the peer has shut down its sending side. When nothing has arrived yet
// (EAGAIN) it waits until the socket is readable or the read deadline passes,
// then reads again. A shutdown (the Waker) interrupts the wait: a request
// that has not arrived yet is not worth waiting for once we are stopping.
func (c *Conn) Read(p []byte) (int, error) { return c.read(p, true) }

// ReadWait is Read for a moment when the peer is most likely silent — just
// after answering everything it sent: it waits first and reads after, and so
// saves the read(2) that would only have said EAGAIN.
func (c *Conn) ReadWait(p []byte) (int, error) {
	if err := c.poller.wait(c.fd, unix.POLLIN, c.rdl, true); err != nil {
		return 0, err
	}
	c.Stats.Waits++
	return c.read(p, true)
}

// ReadUnwoken is Read that a shutdown does not cut short: the drain of a
// polite close goes on until the client's EOF or the read deadline, so
// that closing does not reset a response the client has not read yet.
func (c *Conn) ReadUnwoken(p []byte) (int, error) { return c.read(p, false) }

func (c *Conn) read(p []byte, wakeable bool) (int, error) {
	for {
		n, err := c.TryRead(p)
		if err != ErrAgain {
			return n, err
		}
		if err := c.poller.wait(c.fd, unix.POLLIN, c.rdl, wakeable); err != nil {
			return 0, err
		}
		c.Stats.Waits++
	}
}

// TryRead wraps read(2), once: it never waits. It returns n > 0 bytes,
// io.EOF when the peer has shut down its sending side (read returns 0),
// ErrAgain when nothing has arrived (EAGAIN), or the error. EINTR — a signal
// arrived during the call — is retried at once.
func (c *Conn) TryRead(p []byte) (int, error) {
	for {
		c.Stats.Reads++
		n, err := sysRead(c.fd, p)
		switch err {
		case nil:
			if n == 0 && len(p) > 0 {
				return 0, io.EOF
			}
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.Stats.EAGAINs++
			return 0, ErrAgain
		}
		return 0, os.NewSyscallError("read", err)
	}
}

// Write writes all of p. A socket takes what fits in its send buffer and
// returns the count, so a short write is normal, not an error: the loop
// writes the rest. When the buffer is full (EAGAIN) it waits for POLLOUT —
// the peer reading frees space — until the write deadline.
func (c *Conn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := c.TryWrite(p[done:])
		done += n
		switch err {
		case nil:
		case ErrAgain:
			if err := c.waitWrite(); err != nil {
				return done, err
			}
		default:
			return done, err
		}
	}
	return done, nil
}

// TryWrite wraps write(2), once: it returns how much of p the send buffer
// took — possibly less than all of it (a short write) — and ErrAgain when it
// took nothing because it is full. EINTR is retried at once. A peer that is
// gone shows up as EPIPE or ECONNRESET. EPIPE also raises SIGPIPE, which
// would kill a C program by default; the Go runtime catches it and ignores it
// for every fd but 1 and 2 (see os/signal, "SIGPIPE"), so the error is all we
// see.
func (c *Conn) TryWrite(p []byte) (int, error) {
	for {
		c.Stats.Writes++
		n, err := sysWrite(c.fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.Stats.EAGAINs++
			return 0, ErrAgain
		}
		return 0, os.NewSyscallError("write", err) // on error n is -1: never add it
	}
}

// SendFile sends n bytes of f, from off, waiting for room in the send buffer
// when it is full, until the write deadline.
func (c *Conn) SendFile(f *File, off, n int64) (int64, error) {
	done := int64(0)
	for done < n {
		m, err := c.TrySendFile(f, &off, n-done)
		done += int64(m)
		switch err {
		case nil:
		case ErrAgain:
			if err := c.waitWrite(); err != nil {
				return done, err
			}
		default:
			return done, err
		}
	}
	return done, nil
}

// TrySendFile wraps sendfile(2), once: the kernel copies up to n bytes of f,
// from *off, straight from the page cache to the socket, never through our
// memory, and advances *off. Like write, it may send less than asked, and
// says ErrAgain when the send buffer is full. EINTR is retried at once.
func (c *Conn) TrySendFile(f *File, off *int64, n int64) (int, error) {
	// One call moves at most 0x7ffff000 bytes (sendfile(2), NOTES).
	chunk := int(min(n, 0x7ffff000))
	for {
		c.Stats.Sendfiles++
		m, err := sysSendfile(c.fd, f.FD(), off, chunk)
		switch err {
		case nil:
			if m == 0 && chunk > 0 { // end of file before n bytes: the file shrank under us
				return 0, io.ErrUnexpectedEOF
			}
			return m, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.Stats.EAGAINs++
			return 0, ErrAgain
		}
		return 0, os.NewSyscallError("sendfile", err)
	}
}

// waitWrite waits for room in the send buffer. A shutdown does not cut it
// short: a response that has started is finished (or runs into the write
// deadline).
func (c *Conn) waitWrite() error {
	if err := c.poller.wait(c.fd, unix.POLLOUT, c.wdl, false); err != nil {
		return err
	}
	c.Stats.Waits++
	return nil
}

// CloseWrite wraps shutdown(SHUT_WR): our FIN goes out after the last byte
// already in the send buffer, and the peer reads EOF; we can still read.
// It is the first step of a polite close (see httpconn: CloseWrite, Linger):
// closing a socket that has unread bytes in its receive queue makes the
// kernel send RST instead of FIN (RFC 1122, 4.2.2.13; tcp(7)), and an RST
// can destroy response bytes the client has not read yet; so the server
// shuts down its side, reads and drops what the client still sends until
// its EOF, and only then closes.
func (c *Conn) CloseWrite() error {
	if err := sysShutdown(c.fd, unix.SHUT_WR); err != nil {
		return os.NewSyscallError("shutdown", err)
	}
	return nil
}

// SendQueue wraps ioctl(SIOCOUTQ): how many bytes the socket's send queue
// holds — written by us and not yet acknowledged by the peer's kernel,
// whether sent or not (tcp(7); SIOCOUTQNSD would count the unsent alone).
// When it says 0, the peer's kernel has every byte we wrote. (strace names
// the request TIOCOUTQ: it shares the terminal request's number.)
func (c *Conn) SendQueue() (int, error) {
	n, err := sysIoctlGetInt(c.fd, unix.SIOCOUTQ)
	if err != nil {
		return 0, os.NewSyscallError("ioctl", err)
	}
	return n, nil
}

// Reset closes the connection abortively, as -faults' reset does: with
// SO_LINGER on and a linger time of 0, close(2) sends RST instead of FIN
// and throws away whatever the send queue still holds (socket(7)) — which
// is why the fault waits, with SendQueue, until it holds nothing. The
// client's next read says ECONNRESET. The descriptor is closed whether or
// not the setsockopt worked.
func (c *Conn) Reset() error {
	if c.fd < 0 {
		return nil
	}
	err := c.ResetOnClose()
	if cerr := c.Abort(); err == nil {
		return cerr
	}
	return err
}

// ResetOnClose sets SO_LINGER to on with a linger time of 0, so that the
// close to come sends RST: Reset's first half, for a model that closes the
// descriptor elsewhere (the uring model, through its ring).
func (c *Conn) ResetOnClose() error {
	if err := sysSetsockoptLinger(c.fd, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// Abort closes the connection at once: for a peer that is gone already
// (EPIPE, ECONNRESET), or one we refuse to wait for.
func (c *Conn) Abort() error {
	if c.fd < 0 {
		return nil
	}
	fd := c.fd
	c.fd = -1
	return closeFD(fd)
}
