package sock

import (
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The structures shared with the kernel have the layout
// include/uapi/linux/io_uring.h gives them: every size and every field's
// offset, as C lays them out on a 64-bit kernel. A field typed wrong here
// would make the kernel read an SQE's fd where its flags are.
func TestUringABI(t *testing.T) {
	type field struct {
		name      string
		got, want uintptr
	}
	var p uringParams
	var e SQE
	var c CQE
	var pr uringProbe
	var po uringProbeOp
	var b uringBuf
	var r uringBufReg
	for _, f := range []field{
		{"sizeof(struct io_uring_params)", unsafe.Sizeof(p), 120},
		{"io_uring_params.sq_entries", unsafe.Offsetof(p.SqEntries), 0},
		{"io_uring_params.cq_entries", unsafe.Offsetof(p.CqEntries), 4},
		{"io_uring_params.flags", unsafe.Offsetof(p.Flags), 8},
		{"io_uring_params.sq_thread_cpu", unsafe.Offsetof(p.SqThreadCPU), 12},
		{"io_uring_params.sq_thread_idle", unsafe.Offsetof(p.SqThreadIdle), 16},
		{"io_uring_params.features", unsafe.Offsetof(p.Features), 20},
		{"io_uring_params.wq_fd", unsafe.Offsetof(p.WqFd), 24},
		{"io_uring_params.resv", unsafe.Offsetof(p.Resv), 28},
		{"io_uring_params.sq_off", unsafe.Offsetof(p.SqOff), 40},
		{"io_uring_params.cq_off", unsafe.Offsetof(p.CqOff), 80},
		{"sizeof(struct io_sqring_offsets)", unsafe.Sizeof(p.SqOff), 40},
		{"io_sqring_offsets.array", unsafe.Offsetof(p.SqOff.Array), 24},
		{"io_sqring_offsets.user_addr", unsafe.Offsetof(p.SqOff.UserAddr), 32},
		{"sizeof(struct io_cqring_offsets)", unsafe.Sizeof(p.CqOff), 40},
		{"io_cqring_offsets.cqes", unsafe.Offsetof(p.CqOff.Cqes), 20},
		{"io_cqring_offsets.flags", unsafe.Offsetof(p.CqOff.Flags), 24},
		{"io_cqring_offsets.user_addr", unsafe.Offsetof(p.CqOff.UserAddr), 32},

		{"sizeof(struct io_uring_sqe)", unsafe.Sizeof(e), 64},
		{"io_uring_sqe.opcode", unsafe.Offsetof(e.Opcode), 0},
		{"io_uring_sqe.flags", unsafe.Offsetof(e.Flags), 1},
		{"io_uring_sqe.ioprio", unsafe.Offsetof(e.Ioprio), 2},
		{"io_uring_sqe.fd", unsafe.Offsetof(e.Fd), 4},
		{"io_uring_sqe.off (addr2)", unsafe.Offsetof(e.Off), 8},
		{"io_uring_sqe.addr", unsafe.Offsetof(e.Addr), 16},
		{"io_uring_sqe.len", unsafe.Offsetof(e.Len), 24},
		{"io_uring_sqe.rw_flags (msg_flags, ...)", unsafe.Offsetof(e.OpFlags), 28},
		{"io_uring_sqe.user_data", unsafe.Offsetof(e.UserData), 32},
		{"io_uring_sqe.buf_index (buf_group)", unsafe.Offsetof(e.BufIndex), 40},
		{"io_uring_sqe.personality", unsafe.Offsetof(e.Personality), 42},
		{"io_uring_sqe.splice_fd_in", unsafe.Offsetof(e.SpliceFdIn), 44},
		{"io_uring_sqe.addr3", unsafe.Offsetof(e.Addr3), 48},

		{"sizeof(struct io_uring_cqe)", unsafe.Sizeof(c), 16},
		{"io_uring_cqe.user_data", unsafe.Offsetof(c.UserData), 0},
		{"io_uring_cqe.res", unsafe.Offsetof(c.Res), 8},
		{"io_uring_cqe.flags", unsafe.Offsetof(c.Flags), 12},

		{"sizeof(struct io_uring_probe_op)", unsafe.Sizeof(po), 8},
		{"io_uring_probe_op.flags", unsafe.Offsetof(po.Flags), 2},
		{"io_uring_probe.ops_len", unsafe.Offsetof(pr.OpsLen), 1},
		{"io_uring_probe.ops", unsafe.Offsetof(pr.Ops), 16},

		{"sizeof(struct io_uring_buf)", unsafe.Sizeof(b), 16},
		{"io_uring_buf.len", unsafe.Offsetof(b.Len), 8},
		{"io_uring_buf.bid", unsafe.Offsetof(b.Bid), 12},
		{"io_uring_buf_ring.tail (io_uring_buf.resv)", unsafe.Offsetof(b.Resv), 14},

		{"sizeof(struct io_uring_buf_reg)", unsafe.Sizeof(r), 40},
		{"io_uring_buf_reg.ring_entries", unsafe.Offsetof(r.RingEntries), 8},
		{"io_uring_buf_reg.bgid", unsafe.Offsetof(r.Bgid), 12},
		{"io_uring_buf_reg.flags", unsafe.Offsetof(r.Flags), 14},
	} {
		if f.got != f.want {
			t.Errorf("%s: %d, want %d", f.name, f.got, f.want)
		}
	}
}

// needUring skips a test where io_uring is not allowed, saying why.
func needUring(t *testing.T) {
	t.Helper()
	if err := UringUnavailable(); err != nil {
		t.Skipf("io_uring cannot be used here: %v", err)
	}
}

// A ring, driven by hand on a locked thread: a multishot accept, a
// multishot recv into a provided buffer, a send, and a cancel linked to a
// close — each narrated as its SQE and its CQE.
func TestRingRoundTrip(t *testing.T) {
	needUring(t)
	var narration lockedBuf
	SetTrace(&narration, false)
	defer SetTrace(nil, false)
	done := make(chan error, 1)
	a, _ := ParseAddr("127.0.0.1:0")
	l, err := Listen(a, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { done <- ringEcho(l) }() // on a thread of its own, locked
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "ping")
	var b [16]byte
	n, err := io.ReadFull(c, b[:4])
	if err != nil || string(b[:n]) != "pong" {
		t.Fatalf("read %q, %v; want pong", b[:n], err)
	}
	c.(*net.TCPConn).CloseWrite()
	if n, err := c.Read(b[:]); err != io.EOF {
		t.Errorf("after the server's close: %d bytes, %v; want EOF", n, err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := narration.String()
	for _, want := range []string{
		"→ sqe accept(",
		"io_uring_enter(",
		"← cqe accept(",
		"→ sqe recv(", ", NULL, 0, 0) [multishot, buf_group=0, user_data=0x1b",
		`, "ping", 4096) = 4 [flags=F_BUFFER|F_MORE, buf=0, user_data=0x1b`,
		`→ sqe send(`, `, "pong", 4, MSG_NOSIGNAL) [user_data=0x1a`,
		"→ sqe close(",
		"← cqe close(",
		"← cqe timeout() = -1 ETIME (Timer expired)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("narration lacks %q:\n%s", want, got)
		}
	}
}

// ringEcho accepts one connection on l through a ring, answers "pong" to
// what it sends, closes it at its EOF, and waits for a timeout.
func ringEcho(l *Listener) error {
	runtime.LockOSThread() // the ring's one submitter
	defer runtime.UnlockOSThread()
	r, err := NewRing(8)
	if err != nil {
		return err
	}
	defer r.Close()
	bufs, err := r.AddBuffers(4, 4096)
	if err != nil {
		return err
	}
	r.Accept(l.FD(), true, 0)
	cq := make([]CQE, 0, 64)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err := r.Submit(true); err != nil {
			return err
		}
		for _, c := range r.Reap(cq[:0]) {
			switch c.Op() {
			case OpAccept:
				r.Recv(int(c.Res), 1)
			case OpRecv:
				if c.Res > 0 {
					bufs.Took()
					r.Send(c.FD(), []byte("pong"), 1)
					bufs.Recycle(uint16(c.Flags >> cqeBufferShift))
				} else if c.Res == 0 {
					r.CancelAndClose(c.FD(), 1)
				}
			case OpClose:
				r.Timeout(time.Millisecond, 2)
			case OpTimeout:
				return nil
			}
		}
	}
	return io.ErrUnexpectedEOF
}

// Where io_uring is refused, the error names the cause and the remedy.
func TestUringRefused(t *testing.T) {
	for _, tc := range []struct {
		errno unix.Errno
		want  string
	}{
		{unix.ENOSYS, "this kernel has no io_uring"},
		{unix.EPERM, "use -model epoll"},
		{unix.EINVAL, "needs " + UringNeeds},
	} {
		err := setupError(tc.errno)
		if msg := err.Error(); !strings.HasPrefix(msg, "io_uring_setup: "+tc.errno.Error()) || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %q, want it to name the call, the errno and %q", tc.errno, msg, tc.want)
		}
	}
}
