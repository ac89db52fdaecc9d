package sock

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: two queues in memory shared with the
// kernel. The loop writes requests — submission queue entries, SQEs: "accept
// on fd 6", "recv on fd 8 into a buffer of your choosing", "send these 156
// bytes" — into the submission ring and moves its tail; one io_uring_enter
// hands the kernel every entry written since the last, and may wait for
// completions. The kernel writes each result — a completion queue entry,
// CQE: the request's user_data and what the call would have returned — into
// the completion ring and moves its tail; the loop reads them and moves its
// head. A batch of requests, and the results of earlier ones, cost one
// system call; a request that completes while the loop is busy costs none.
//
// Who writes what, and what each side may see when:
//
//   - SQ tail: ours. We fill an SQE with plain stores, then store the tail
//     with an atomic store, which is a release: the kernel, which loads the
//     tail with smp_load_acquire, sees every byte of the entries before it
//     sees the tail that covers them.
//   - SQ head: the kernel's, moved as it consumes entries; we load it
//     atomically (acquire) to know which slots are free to write again.
//   - CQ tail: the kernel's, stored with smp_store_release after it wrote
//     the CQEs; our atomic load (acquire) of it comes before we read them.
//   - CQ head: ours, stored atomically (release) once we have copied the
//     CQEs out, so the kernel never reuses a slot we are still reading.
//
// (Go's sync/atomic operations are sequentially consistent, more than the
// acquire and release each needs.)
//
// The ring is set up with IORING_SETUP_SINGLE_ISSUER and
// IORING_SETUP_DEFER_TASKRUN: one thread — the loop's, locked — submits, and
// the kernel finishes requests (posts their CQEs, copies a recv's bytes)
// only inside that thread's io_uring_enter(IORING_ENTER_GETEVENTS), never in
// the middle of the loop's work. So the memory a request points at is
// touched only during io_uring_enter, and the CQEs a loop reaps after one
// enter are exactly what completed by then.
//
// A Ring is not safe for concurrent use: it belongs to one loop.
type Ring struct {
	fd       int
	features uint32
	ops      [probeOps]bool // the operations this kernel supports (IORING_REGISTER_PROBE)

	ringMem, sqeMem []byte // the mappings: both rings in one (IORING_FEAT_SINGLE_MMAP), the SQE array

	sqHead, sqTail, sqFlags *uint32
	sqMask, sqEntries       uint32
	sqes                    []SQE
	tail                    uint32 // SQEs written up to here; the shared tail is stored on Submit
	submitted               uint32 // SQEs handed to the kernel up to here

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []CQE

	bufs *BufRing        // the provided buffers recvs pick from; nil until AddBuffers
	ts   []unix.Timespec // the times TIMEOUT entries point at, one per SQE slot
}

// UringNeeds is what the uring model asks of the kernel: the setup flags
// (SINGLE_ISSUER 6.0, DEFER_TASKRUN 6.1) and a provided-buffer ring the kernel
// allocates (IOU_PBUF_RING_MMAP, 6.4).
const UringNeeds = "Linux 6.4"

// The operations the uring model submits: the ring must support each.
var neededOps = []uint8{OpAccept, OpRecv, OpSend, OpShutdown, OpClose, OpAsyncCancel,
	OpTimeout, OpTimeoutRemove, OpPollAdd}

// NewRing sets up an io_uring with room for sqEntries submissions at a
// time and 16 times as many completions (a multishot recv on every
// connection may complete many times between two enters; with
// IORING_FEAT_NODROP, completions that find the ring full wait in the
// kernel rather than being lost), maps its memory, and asks which operations
// the kernel supports. Call it on the thread that will submit.
func NewRing(sqEntries uint32) (*Ring, error) {
	p := uringParams{
		Flags:     setupSingleIssuer | setupDeferTaskrun | setupSubmitAll | setupCQSize | setupClamp,
		CqEntries: 16 * sqEntries,
	}
	fd, err := sysIoUringSetup(sqEntries, &p)
	if err != nil {
		return nil, setupError(err)
	}
	r := &Ring{fd: fd, features: p.Features}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.probe(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// mapRings maps the rings' memory and finds each field in it.
func (r *Ring) mapRings(p *uringParams) error {
	const need = featSingleMmap | featNoDrop | featFastPoll
	if p.Features&need != need {
		return fmt.Errorf("io_uring: this kernel lacks features the uring model needs (IORING_FEAT_SINGLE_MMAP, NODROP, FAST_POLL: %s)", UringNeeds)
	}
	size := max(p.SqOff.Array+p.SqEntries*4, p.CqOff.Cqes+p.CqEntries*uint32(unsafe.Sizeof(CQE{})))
	mem, err := sysMmap(r.fd, offSQRing, int(size))
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	r.ringMem = mem
	sqes, err := sysMmap(r.fd, offSQEs, int(p.SqEntries)*int(unsafe.Sizeof(SQE{})))
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	r.sqeMem = sqes
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail, r.sqFlags = at(p.SqOff.Head), at(p.SqOff.Tail), at(p.SqOff.Flags)
	r.sqMask, r.sqEntries = *at(p.SqOff.RingMask), *at(p.SqOff.RingEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&sqes[0])), r.sqEntries)
	r.ts = make([]unix.Timespec, r.sqEntries)
	// The SQ ring is an array of indexes into the SQE array: slot i always
	// names entry i here, written once.
	array := unsafe.Slice((*uint32)(unsafe.Pointer(&mem[p.SqOff.Array])), r.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.cqHead, r.cqTail = at(p.CqOff.Head), at(p.CqOff.Tail)
	r.cqMask = *at(p.CqOff.RingMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&mem[p.CqOff.Cqes])), *at(p.CqOff.RingEntries))
	r.tail = atomic.LoadUint32(r.sqTail)
	r.submitted = r.tail
	return nil
}

// probe asks the kernel which operations it supports
// (IORING_REGISTER_PROBE), and refuses a kernel that lacks one the model
// needs.
func (r *Ring) probe() error {
	var pr uringProbe
	if err := sysIoUringRegister(r.fd, registerProbe, unsafe.Pointer(&pr), probeOps); err != nil {
		return os.NewSyscallError("io_uring_register", err)
	}
	for _, op := range pr.Ops[:pr.OpsLen] {
		r.ops[op.Op] = op.Flags&probeSupported != 0
	}
	var missing []string
	for _, op := range neededOps {
		if !r.ops[op] {
			missing = append(missing, "IORING_OP_"+strings.ToUpper(OpName(op)))
		}
	}
	if missing != nil {
		return fmt.Errorf("io_uring: this kernel lacks %s (the uring model needs %s)", strings.Join(missing, ", "), UringNeeds)
	}
	return nil
}

// FD is the ring's descriptor (for narration and tests).
func (r *Ring) FD() int { return r.fd }

// Close unmaps the ring and closes it: the kernel cancels every request
// still in flight, and drops its references to their files.
func (r *Ring) Close() error {
	if r.bufs != nil {
		sysMunmap(r.bufs.mem)
	}
	if r.sqeMem != nil {
		sysMunmap(r.sqeMem)
	}
	if r.ringMem != nil {
		sysMunmap(r.ringMem)
	}
	return closeFD(r.fd)
}

// setupError says why io_uring_setup failed, in the terms of the one who
// must act on it: a kernel without io_uring (ENOSYS), one where the sysctl
// kernel.io_uring_disabled forbids it, a seccomp profile that refuses it
// (EPERM; Docker's default has since Docker 25, moby/moby#46762), a kernel
// too old for the flags the model asks for (EINVAL). It never falls back:
// the remedy is the user's to choose.
func setupError(err error) error {
	const epoll = "use -model epoll"
	var why string
	switch err {
	case unix.ENOSYS:
		why = "this kernel has no io_uring (Linux 5.1 and later, built with CONFIG_IO_URING), or a seccomp filter answers ENOSYS for it: " + epoll
	case unix.EPERM:
		switch disabled() {
		case "2":
			why = "io_uring is switched off on this machine (sysctl kernel.io_uring_disabled=2): " + epoll + ", or set kernel.io_uring_disabled=0"
		case "1":
			why = "io_uring is for root and the group kernel.io_uring_group only here (sysctl kernel.io_uring_disabled=1): " + epoll + ", run in that group, or set kernel.io_uring_disabled=0"
		default:
			why = "a seccomp filter refuses io_uring (Docker's default profile does since Docker 25, moby/moby#46762): " + epoll + ", or run with a profile that allows io_uring_setup, io_uring_enter and io_uring_register"
		}
	case unix.EINVAL:
		why = "this kernel lacks IORING_SETUP_SINGLE_ISSUER or DEFER_TASKRUN (the uring model needs " + UringNeeds + "): " + epoll
	default:
		return os.NewSyscallError("io_uring_setup", err)
	}
	return fmt.Errorf("%w — %s", os.NewSyscallError("io_uring_setup", err), why)
}

// UringUnavailable returns nil when this process may use io_uring as the
// uring model does, or an error that names the cause and the remedy (see
// setupError, and the kernel's features and operations in NewRing). It
// sets up a small ring, and closes it.
func UringUnavailable() error {
	// The ring has one submitter, the thread that set it up: the probe
	// must stay on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := NewRing(2)
	if err != nil {
		return err
	}
	return r.Close()
}

// disabled reads the sysctl kernel.io_uring_disabled: "0", "1", "2", or
// "" where the kernel has none (before 6.6) or it cannot be read.
func disabled() string {
	fd, err := sysOpenat(unix.AT_FDCWD, "/proc/sys/kernel/io_uring_disabled", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer closeFD(fd)
	var b [8]byte
	n, err := sysRead(fd, b[:])
	if err != nil || n <= 0 {
		return ""
	}
	return strings.TrimSpace(string(b[:n]))
}

// Submitting.

// get returns the next free SQE, zeroed, for the caller to fill in; when
// the submission ring is full, what is in it is submitted first (an
// io_uring_enter that does not wait). n > 1 asks for room for n entries in
// a row: a linked chain must not be cut in two by a submission.
func (r *Ring) get(n uint32) *SQE {
	if r.tail+n-atomic.LoadUint32(r.sqHead) > r.sqEntries {
		r.Submit(false)
	}
	e := &r.sqes[r.tail&r.sqMask]
	*e = SQE{}
	r.tail++
	return e
}

// userData packs what a completion must tell: the operation (so the
// narration can name it), the descriptor, and a tag of the caller's
// choosing in 24 bits (a generation, to tell a closed connection's late
// completions from those of the next one on the same descriptor).
func userData(op uint8, fd int, tag uint32) uint64 {
	return uint64(op)<<56 | uint64(tag&0xffffff)<<32 | uint64(uint32(fd))
}

// Op is the operation the completion is for.
func (c *CQE) Op() uint8 { return uint8(c.UserData >> 56) }

// FD is the descriptor the request was made on (-1: none).
func (c *CQE) FD() int { return int(int32(uint32(c.UserData))) }

// Tag is the tag the request was submitted with.
func (c *CQE) Tag() uint32 { return uint32(c.UserData>>32) & 0xffffff }

// More reports whether the request stays armed: more completions will come.
func (c *CQE) More() bool { return c.Flags&CQEFMore != 0 }

// Err is the completion's error, nil when Res is a result.
func (c *CQE) Err() error {
	if c.Res >= 0 {
		return nil
	}
	return unix.Errno(-c.Res)
}

// Accept asks for the connections queued on listener fd, each as a new
// nonblocking, close-on-exec socket: with multishot, every connection the
// listener gets from now on, one completion each, until cancelled or an
// error ends it (no CQEFMore); without, the next one only. The peer's
// address is not asked for: a multishot accept would write every one into
// the same place (Getpeername gets it).
func (r *Ring) Accept(fd int, multishot bool, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd = OpAccept, int32(fd)
	e.OpFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	if multishot {
		e.Ioprio = acceptMultishot
	}
	e.UserData = userData(OpAccept, fd, tag)
	return e.UserData
}

// Recv asks for what arrives on socket fd, each time it arrives, into a
// buffer the kernel picks from the provided-buffer ring (AddBuffers): a
// multishot recv, which stays armed until an error, EOF (a completion with
// Res 0), a cancel, or a moment with no free buffer (ENOBUFS) ends it.
// Nothing is held for an idle connection but the request itself: no buffer
// is taken until bytes arrive.
func (r *Ring) Recv(fd int, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd, e.Flags = OpRecv, int32(fd), sqeBufferSelect
	e.Ioprio = recvMultishot
	e.BufIndex = r.bufs.group
	e.UserData = userData(OpRecv, fd, tag)
	return e.UserData
}

// Send asks for p to be sent on socket fd, as send(2) with MSG_NOSIGNAL. p
// must stay as it is until the completion: the kernel may read it at any
// io_uring_enter until then (a full send buffer makes the request wait for
// room, inside the kernel). Like send(2), it may send less than all of p.
func (r *Ring) Send(fd int, p []byte, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd = OpSend, int32(fd)
	e.Addr, e.Len = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p)))), uint32(len(p))
	e.OpFlags = unix.MSG_NOSIGNAL
	e.UserData = userData(OpSend, fd, tag)
	return e.UserData
}

// Shutdown asks for shutdown(fd, how).
func (r *Ring) Shutdown(fd, how int, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd, e.Len = OpShutdown, int32(fd), uint32(how)
	e.UserData = userData(OpShutdown, fd, tag)
	return e.UserData
}

// PollAdd asks to hear once when fd has one of events (unix.POLLIN...).
func (r *Ring) PollAdd(fd int, events uint32, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd, e.OpFlags = OpPollAdd, int32(fd), events
	e.UserData = userData(OpPollAdd, fd, tag)
	return e.UserData
}

// CloseFD asks for close(fd). The requests still in flight on fd hold the
// file, not the descriptor: a socket closed with a recv armed stays open
// until the recv ends. CancelAndClose ends them first.
func (r *Ring) CloseFD(fd int, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd = OpClose, int32(fd)
	e.UserData = userData(OpClose, fd, tag)
	return e.UserData
}

// CancelAndClose cancels every request in flight on fd (IORING_OP_ASYNC_CANCEL
// with IORING_ASYNC_CANCEL_FD|ALL: each ends with ECANCELED) and then
// closes it: two entries, hard-linked, so the close starts only once the
// cancel has ended, whatever it found (none: ENOENT).
func (r *Ring) CancelAndClose(fd int, tag uint32) uint64 {
	e := r.get(2)
	e.Opcode, e.Fd, e.Flags = OpAsyncCancel, int32(fd), sqeIOHardlink
	e.OpFlags = cancelFD | cancelAll
	e.UserData = userData(OpAsyncCancel, fd, tag)
	return r.CloseFD(fd, tag)
}

// Cancel cancels the request submitted with user data ud.
func (r *Ring) Cancel(ud uint64, tag uint32) {
	e := r.get(1)
	e.Opcode, e.Fd, e.Addr = OpAsyncCancel, -1, ud
	e.UserData = userData(OpAsyncCancel, int(int32(uint32(ud))), tag)
}

// Timeout asks for one completion (Res -ETIME) once d has passed: a timer
// that needs no system call of its own.
func (r *Ring) Timeout(d time.Duration, tag uint32) uint64 {
	e := r.get(1)
	e.Opcode, e.Fd = OpTimeout, -1
	e.Addr, e.Len = r.timespec(e, d), 1
	e.UserData = userData(OpTimeout, -1, tag)
	return e.UserData
}

// UpdateTimeout moves the timeout submitted with user data ud to d from
// now (IORING_OP_TIMEOUT_REMOVE with IORING_TIMEOUT_UPDATE). If it has
// fired already, the update fails with ENOENT and the timeout's own
// completion is on its way.
func (r *Ring) UpdateTimeout(ud uint64, d time.Duration, tag uint32) {
	e := r.get(1)
	e.Opcode, e.Fd = OpTimeoutRemove, -1
	e.Addr, e.Off = ud, r.timespec(e, d)
	e.OpFlags = timeoutUpdate
	e.UserData = userData(OpTimeoutRemove, -1, tag)
}

// timespec stores d where entry e may point at it, and returns its address.
// The kernel reads it when the entry is submitted: each SQE slot has a
// timespec of its own, reused only with the slot.
func (r *Ring) timespec(e *SQE, d time.Duration) uint64 {
	ts := &r.ts[(uintptr(unsafe.Pointer(e))-uintptr(unsafe.Pointer(&r.sqes[0])))/unsafe.Sizeof(SQE{})]
	*ts = unix.NsecToTimespec(max(int64(d), 0))
	return uint64(uintptr(unsafe.Pointer(ts)))
}

// Submit hands the kernel the entries written since the last Submit, and
// runs what completed meanwhile into the completion ring — with wait, it
// first sleeps until at least one completion is there. One io_uring_enter
// does both. A signal that interrupts the wait (EINTR), or a kernel short
// of memory for the moment (EAGAIN, EBUSY: too many completions waiting
// to be reaped), is no error: the loop reaps what there is and comes back.
func (r *Ring) Submit(wait bool) error {
	if r.bufs != nil && r.bufs.dirty {
		r.bufs.publish()
	}
	n := r.tail - r.submitted
	if n > 0 {
		atomic.StoreUint32(r.sqTail, r.tail) // release: the entries before the tail
	}
	var min uint32
	if wait {
		min = 1
	}
	_, err := sysIoUringEnter(r, n, min, enterGetEvents)
	// What the kernel took is what its head says, whatever enter returned.
	r.submitted = atomic.LoadUint32(r.sqHead)
	switch err {
	case nil, unix.EINTR, unix.EAGAIN, unix.EBUSY:
		return nil
	}
	return os.NewSyscallError("io_uring_enter", err)
}

// Reap appends the completions waiting in the ring to dst, up to its
// capacity, and gives their slots back to the kernel.
func (r *Ring) Reap(dst []CQE) []CQE {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail) // acquire: the CQEs before it are written
	for ; head != tail && len(dst) < cap(dst); head++ {
		dst = append(dst, r.cqes[head&r.cqMask])
		narrateCQE(r, &dst[len(dst)-1])
	}
	atomic.StoreUint32(r.cqHead, head) // release: done reading them
	return dst
}

// Pending reports whether completions wait to be reaped — in the ring, or
// in the kernel because the ring was full — so that the next Submit must
// not sleep.
func (r *Ring) Pending() bool {
	return atomic.LoadUint32(r.cqHead) != atomic.LoadUint32(r.cqTail) ||
		atomic.LoadUint32(r.sqFlags)&sqCQOverflow != 0
}

// BufRing is a ring of provided buffers: memory the loop lends the kernel
// for recvs to fill, so that an idle connection holds no buffer of its own
// — the kernel takes one only when bytes arrive, and says which in the
// completion. The loop gives each back (Recycle) once it has used the
// bytes.
type BufRing struct {
	mem   []byte     // the ring's mapping
	ring  []uringBuf // its entries
	data  []byte     // the buffers, size bytes each, in one allocation
	size  int
	mask  uint16
	tail  uint16 // entries given to the kernel up to here
	group uint16
	free  int  // buffers the kernel holds, ready to be filled
	dirty bool // recycled since the tail was last published
}

// AddBuffers registers a ring of n buffers of size bytes each (n a power of
// two) as buffer group 0, allocated by the kernel (IOU_PBUF_RING_MMAP) and
// mapped here, and lends the kernel all of them.
func (r *Ring) AddBuffers(n, size int) (*BufRing, error) {
	reg := uringBufReg{RingEntries: uint32(n), Flags: pbufRingMmap}
	if err := sysIoUringRegister(r.fd, registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("io_uring_register: IORING_REGISTER_PBUF_RING: %v: this kernel lacks IOU_PBUF_RING_MMAP (the uring model needs %s): use -model epoll", err, UringNeeds)
		}
		return nil, os.NewSyscallError("io_uring_register", err)
	}
	mem, err := sysMmap(r.fd, offPbufRing|uint64(reg.Bgid)<<offPbufShift, n*int(unsafe.Sizeof(uringBuf{})))
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	b := &BufRing{mem: mem, ring: unsafe.Slice((*uringBuf)(unsafe.Pointer(&mem[0])), n),
		data: make([]byte, n*size), size: size, mask: uint16(n - 1), group: reg.Bgid}
	for i := range n {
		b.Recycle(uint16(i))
	}
	b.publish()
	r.bufs = b
	return b, nil
}

// Bytes is what a recv completion brought: the first n bytes of buffer
// bid.
func (b *BufRing) Bytes(bid uint16, n int) []byte {
	off := int(bid) * b.size
	return b.data[off : off+n : off+b.size]
}

// Size is each buffer's size.
func (b *BufRing) Size() int { return b.size }

// Free is how many buffers the kernel holds ready to fill.
func (b *BufRing) Free() int { return b.free }

// Took notes that a completion used a buffer.
func (b *BufRing) Took() { b.free-- }

// Recycle gives buffer bid back to the kernel — after the next Submit,
// which publishes the ring's tail.
func (b *BufRing) Recycle(bid uint16) {
	e := &b.ring[b.tail&b.mask]
	e.Addr = uint64(uintptr(unsafe.Pointer(&b.data[int(bid)*b.size])))
	e.Len, e.Bid = uint32(b.size), bid
	b.tail++
	b.free++
	b.dirty = true
}

// publish stores the ring's tail, so the kernel sees the buffers recycled
// since the last. The tail is the 16 bits at offset 14 of the first entry,
// and sync/atomic has no 16-bit store: it is stored with the entry's Bid in
// one 32-bit atomic store (a release: the entries written before it are
// seen before the tail that covers them). The Bid written back is the one
// there — the loop is the entries' only writer.
func (b *BufRing) publish() {
	word := (*uint32)(unsafe.Pointer(&b.ring[0].Bid))
	atomic.StoreUint32(word, uint32(b.ring[0].Bid)|uint32(b.tail)<<16)
	b.dirty = false
}
