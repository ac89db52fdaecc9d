package sock

import "strconv"

// io_uring's ABI: the structures the kernel and this process share, and
// the numbers that name operations, flags and offsets, as the kernel's
// include/uapi/linux/io_uring.h defines them. They are written out here,
// once, rather than taken from a header: there is no cgo in rawserve, and
// x/sys/unix has the three system call numbers (SYS_IO_URING_SETUP, _ENTER,
// _REGISTER) but nothing else of io_uring. TestUringABI checks every size
// and field offset against the kernel's documented layout (io_uring_setup(2),
// io_uring_enter(2)), so a field typed wrong here fails a test, not a
// request.

// uringParams is struct io_uring_params: what io_uring_setup(2) is asked
// for (entries, flags) and what it answers — the features this kernel has,
// and where in the mmap'd memory each ring's fields lie.
type uringParams struct {
	SqEntries    uint32
	CqEntries    uint32
	Flags        uint32
	SqThreadCPU  uint32
	SqThreadIdle uint32
	Features     uint32
	WqFd         uint32
	Resv         [3]uint32
	SqOff        sqringOffsets
	CqOff        cqringOffsets
}

// sqringOffsets is struct io_sqring_offsets: byte offsets, in the ring's
// mapping, of the submission queue's fields.
type sqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

// cqringOffsets is struct io_cqring_offsets, the same for the completion
// queue; Cqes is where its array of entries starts.
type cqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// SQE is struct io_uring_sqe, 64 bytes: one request. Its unions are
// flattened to the member rawserve uses — Off is also addr2 (a pointer for
// TIMEOUT_REMOVE's new time), Addr also splice_off_in, OpFlags is
// msg_flags, accept_flags, timeout_flags, cancel_flags, open_flags,
// statx_flags or poll32_events by the operation, BufIndex is buf_group
// with IOSQE_BUFFER_SELECT, SpliceFdIn is also file_index.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	SpliceFdIn  int32
	Addr3       uint64
	pad2        uint64
}

// CQE is struct io_uring_cqe, 16 bytes: one completion. Res is what the
// system call the request stands for would have returned, an errno
// negated on failure; Flags says whether more completions will come for
// the same request (CQEFMore) and which provided buffer holds the data
// (CQEFBuffer, the ID in the top 16 bits).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// uringProbe is struct io_uring_probe and its ops[] array, as
// IORING_REGISTER_PROBE fills it: which opcodes this kernel supports.
type uringProbe struct {
	LastOp uint8
	OpsLen uint8
	Resv   uint16
	Resv2  [3]uint32
	Ops    [probeOps]uringProbeOp
}

// uringProbeOp is struct io_uring_probe_op.
type uringProbeOp struct {
	Op    uint8
	Resv  uint8
	Flags uint16
	Resv2 uint32
}

// probeOps is how many opcodes a probe asks about: every one the kernel
// may have (6.18 has 60), with room.
const probeOps = 256

// uringBuf is struct io_uring_buf: one entry of a provided-buffer ring, a
// buffer the kernel may fill with what a recv brings. The ring's tail is
// kept in the first entry's Resv (struct io_uring_buf_ring overlays it).
type uringBuf struct {
	Addr uint64
	Len  uint32
	Bid  uint16
	Resv uint16
}

// uringBufReg is struct io_uring_buf_reg, IORING_REGISTER_PBUF_RING's
// argument.
type uringBufReg struct {
	RingAddr    uint64
	RingEntries uint32
	Bgid        uint16
	Flags       uint16
	Resv        [3]uint64
}

// Operations (enum io_uring_op): the ones rawserve submits, and those it
// probes for.
const (
	OpNop           = 0
	OpPollAdd       = 6
	OpTimeout       = 11
	OpTimeoutRemove = 12
	OpAccept        = 13
	OpAsyncCancel   = 14
	OpLinkTimeout   = 15
	OpOpenat        = 18
	OpClose         = 19
	OpStatx         = 21
	OpRead          = 22
	OpSend          = 26
	OpRecv          = 27
	OpOpenat2       = 28
	OpSplice        = 30
	OpShutdown      = 34
	OpSendZC        = 47
	opLast          = 60 // IORING_OP_LAST in 6.18: the names below stop here
)

// opNames are the operations' names as the narration prints them: the
// system call each stands for, lower case, as strace names calls.
var opNames = [...]string{
	0: "nop", 1: "readv", 2: "writev", 3: "fsync", 4: "read_fixed", 5: "write_fixed",
	6: "poll_add", 7: "poll_remove", 8: "sync_file_range", 9: "sendmsg", 10: "recvmsg",
	11: "timeout", 12: "timeout_remove", 13: "accept", 14: "async_cancel", 15: "link_timeout",
	16: "connect", 17: "fallocate", 18: "openat", 19: "close", 20: "files_update", 21: "statx",
	22: "read", 23: "write", 24: "fadvise", 25: "madvise", 26: "send", 27: "recv", 28: "openat2",
	29: "epoll_ctl", 30: "splice", 31: "provide_buffers", 32: "remove_buffers", 33: "tee",
	34: "shutdown", 35: "renameat", 36: "unlinkat", 37: "mkdirat", 38: "symlinkat", 39: "linkat",
	40: "msg_ring", 41: "fsetxattr", 42: "setxattr", 43: "fgetxattr", 44: "getxattr", 45: "socket",
	46: "uring_cmd", 47: "send_zc", 48: "sendmsg_zc", 49: "read_multishot", 50: "waitid",
	51: "futex_wait", 52: "futex_wake", 53: "futex_waitv", 54: "fixed_fd_install", 55: "ftruncate",
	56: "bind", 57: "listen", 58: "recv_zc", 59: "epoll_wait",
}

// OpName is an operation's name: "accept", "recv", "send"...
func OpName(op uint8) string {
	if int(op) < len(opNames) && opNames[op] != "" {
		return opNames[op]
	}
	return "op" + strconv.Itoa(int(op))
}

// SQE flags (sqe->flags).
const (
	sqeIOLink       = 1 << 2 // the next SQE starts when this one succeeds
	sqeIOHardlink   = 1 << 3 // ... when this one ends, however it ends
	sqeBufferSelect = 1 << 5 // pick a buffer from group BufIndex
)

// io_uring_setup(2) flags.
const (
	setupCQSize        = 1 << 3
	setupClamp         = 1 << 4
	setupSubmitAll     = 1 << 7
	setupCoopTaskrun   = 1 << 8
	setupSingleIssuer  = 1 << 12
	setupDeferTaskrun  = 1 << 13
	setupNoSQArray     = 1 << 16
	setupRegisteredFds = 1 << 15
)

// io_uring_params.features.
const (
	featSingleMmap = 1 << 0
	featNoDrop     = 1 << 1
	featFastPoll   = 1 << 5
	featExtArg     = 1 << 8
	featCQESkip    = 1 << 11
)

// io_uring_enter(2) flags.
const (
	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3
)

// io_uring_register(2) opcodes.
const (
	registerProbe      = 8
	registerPbufRing   = 22
	unregisterPbufRing = 23
)

// Per-operation flags.
const (
	acceptMultishot = 1 << 0 // sqe->ioprio of ACCEPT
	recvMultishot   = 1 << 1 // sqe->ioprio of RECV
	timeoutUpdate   = 1 << 1 // sqe->timeout_flags of TIMEOUT_REMOVE
	cancelAll       = 1 << 0 // sqe->cancel_flags
	cancelFD        = 1 << 1
	pbufRingMmap    = 1 // io_uring_buf_reg.flags: the kernel allocates the ring, we mmap it
	probeSupported  = 1 << 0
)

// CQE flags.
const (
	CQEFBuffer       = 1 << 0 // the upper 16 bits are the provided buffer's ID
	CQEFMore         = 1 << 1 // the request stays armed: more completions will come
	CQEFSockNonempty = 1 << 2 // the socket had more to read when this recv completed
	cqeBufferShift   = 16
)

// mmap offsets: which of the ring's memories a mapping of its fd gives.
const (
	offSQRing    = 0
	offCQRing    = 0x8000000
	offSQEs      = 0x10000000
	offPbufRing  = 0x80000000
	offPbufShift = 16
)

// The sq ring's flags word.
const sqCQOverflow = 1 << 1 // completions wait in the kernel: the CQ ring was full
