package sock

// io_uring narrated. The three system calls and the ring's mmaps are
// narrated as strace prints them; io_uring_setup's and io_uring_register's
// structures with every flag named (an older strace prints the bits it
// does not know in hex: TestTraceAgreesWithStrace compares those two by
// name, descriptor and result only).
//
// strace cannot show what the ring carries: the requests go through
// memory, not through a system call's arguments. The narration shows them
// on lines of their own, in strace's syntax for the system call each
// request stands for, marked by where it goes:
//
//	→ sqe recv(8, NULL, 0, 0) [multishot, buf_group=0, user_data=0x1b00000100000008]
//	io_uring_enter(5, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) = 1
//	← cqe recv(8, "GET / HTTP/1.1\r\nHost: 127.0.0.1:"..., 4096) = 79 [flags=F_BUFFER|F_MORE, buf=0, user_data=0x1b00000100000008]
//
// "→ sqe" is a submission queue entry, narrated just before the
// io_uring_enter that hands it to the kernel; "← cqe" a completion queue
// entry, narrated as the loop reaps it. Between the brackets: how the
// request was made (multishot, linked, the buffer group) or what the
// completion says besides its result (IORING_CQE_F_* flags, the buffer the
// kernel picked), and the 64-bit user_data that ties the two together: the
// operation in its top byte, a tag of the loop's (a generation) in the
// next three, the descriptor in the low four.

import (
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

var setupFlagNames = []flag{
	{1 << 0, "IORING_SETUP_IOPOLL"}, {1 << 1, "IORING_SETUP_SQPOLL"}, {1 << 2, "IORING_SETUP_SQ_AFF"},
	{setupCQSize, "IORING_SETUP_CQSIZE"}, {setupClamp, "IORING_SETUP_CLAMP"}, {1 << 5, "IORING_SETUP_ATTACH_WQ"},
	{1 << 6, "IORING_SETUP_R_DISABLED"}, {setupSubmitAll, "IORING_SETUP_SUBMIT_ALL"},
	{setupCoopTaskrun, "IORING_SETUP_COOP_TASKRUN"}, {1 << 9, "IORING_SETUP_TASKRUN_FLAG"},
	{1 << 10, "IORING_SETUP_SQE128"}, {1 << 11, "IORING_SETUP_CQE32"},
	{setupSingleIssuer, "IORING_SETUP_SINGLE_ISSUER"}, {setupDeferTaskrun, "IORING_SETUP_DEFER_TASKRUN"},
	{1 << 14, "IORING_SETUP_NO_MMAP"}, {setupRegisteredFds, "IORING_SETUP_REGISTERED_FD_ONLY"},
	{setupNoSQArray, "IORING_SETUP_NO_SQARRAY"},
}

var featureNames = []flag{
	{featSingleMmap, "IORING_FEAT_SINGLE_MMAP"}, {featNoDrop, "IORING_FEAT_NODROP"},
	{1 << 2, "IORING_FEAT_SUBMIT_STABLE"}, {1 << 3, "IORING_FEAT_RW_CUR_POS"},
	{1 << 4, "IORING_FEAT_CUR_PERSONALITY"}, {featFastPoll, "IORING_FEAT_FAST_POLL"},
	{1 << 6, "IORING_FEAT_POLL_32BITS"}, {1 << 7, "IORING_FEAT_SQPOLL_NONFIXED"},
	{featExtArg, "IORING_FEAT_EXT_ARG"}, {1 << 9, "IORING_FEAT_NATIVE_WORKERS"},
	{1 << 10, "IORING_FEAT_RSRC_TAGS"}, {featCQESkip, "IORING_FEAT_CQE_SKIP"},
	{1 << 12, "IORING_FEAT_LINKED_FILE"}, {1 << 13, "IORING_FEAT_REG_REG_RING"},
	{1 << 14, "IORING_FEAT_RECVSEND_BUNDLE"}, {1 << 15, "IORING_FEAT_MIN_TIMEOUT"},
	{1 << 16, "IORING_FEAT_RW_ATTR"}, {1 << 17, "IORING_FEAT_NO_IOWAIT"},
}

var enterFlagNames = []flag{
	{enterGetEvents, "IORING_ENTER_GETEVENTS"}, {1 << 1, "IORING_ENTER_SQ_WAKEUP"},
	{1 << 2, "IORING_ENTER_SQ_WAIT"}, {enterExtArg, "IORING_ENTER_EXT_ARG"},
	{1 << 4, "IORING_ENTER_REGISTERED_RING"},
}

var cqeFlagNames = []flag{{CQEFBuffer, "F_BUFFER"}, {CQEFMore, "F_MORE"}, {CQEFSockNonempty, "F_SOCK_NONEMPTY"}, {1 << 3, "F_NOTIF"}}

var cancelFlagNames = []flag{{cancelAll, "IORING_ASYNC_CANCEL_ALL"}, {cancelFD, "IORING_ASYNC_CANCEL_FD"}}

var msgFlagNames = []flag{{unix.MSG_DONTWAIT, "MSG_DONTWAIT"}, {unix.MSG_WAITALL, "MSG_WAITALL"}, {unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"}}

func (s span) ioUringSetup(entries uint32, p *uringParams, fd int, err error) {
	b := s.line("io_uring_setup")
	b = sep(appendInt(b, int(entries)))
	b = appendFlags(append(b, "{flags="...), uint64(p.Flags), setupFlagNames)
	b = append(b, ", sq_thread_cpu="...)
	b = strconv.AppendUint(b, uint64(p.SqThreadCPU), 10)
	b = append(b, ", sq_thread_idle="...)
	b = strconv.AppendUint(b, uint64(p.SqThreadIdle), 10)
	if err == nil {
		b = append(b, ", sq_entries="...)
		b = strconv.AppendUint(b, uint64(p.SqEntries), 10)
		b = append(b, ", cq_entries="...)
		b = strconv.AppendUint(b, uint64(p.CqEntries), 10)
		b = appendFlags(append(b, ", features="...), uint64(p.Features), featureNames)
		o := &p.SqOff
		b = appendFields(append(b, ", sq_off="...), "head", o.Head, "tail", o.Tail, "ring_mask", o.RingMask,
			"ring_entries", o.RingEntries, "flags", o.Flags, "dropped", o.Dropped, "array", o.Array)
		c := &p.CqOff
		b = appendFields(append(b, ", cq_off="...), "head", c.Head, "tail", c.Tail, "ring_mask", c.RingMask,
			"ring_entries", c.RingEntries, "overflow", c.Overflow, "cqes", c.Cqes, "flags", c.Flags)
	}
	b = append(b, '}')
	s.flush(ret(b, int64(fd), err))
}

// appendFields appends {name=value, ...} from name, value pairs.
func appendFields(b []byte, kv ...any) []byte {
	b = append(b, '{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b = sep(b)
		}
		b = append(append(b, kv[i].(string)...), '=')
		b = strconv.AppendUint(b, uint64(kv[i+1].(uint32)), 10)
	}
	return append(b, '}')
}

func (s span) ioUringEnter(fd int, toSubmit, minComplete, flags uint32, n int, err error) {
	b := s.line("io_uring_enter")
	if !resumed(b) {
		b = appendIoUringEnterArgs(b, fd, toSubmit, minComplete, flags)
	}
	s.flush(ret(b, int64(n), err))
}

// ioUringEnterStarts notes a waiting io_uring_enter's first half (Threads
// mode): strace shows all its arguments as it starts.
func (s span) ioUringEnterStarts(fd int, toSubmit, minComplete, flags uint32) {
	if s.t.threads {
		s.waitStarts("io_uring_enter", appendIoUringEnterArgs(nil, fd, toSubmit, minComplete, flags))
	}
}

func appendIoUringEnterArgs(b []byte, fd int, toSubmit, minComplete, flags uint32) []byte {
	b = sep(appendInt(b, fd))
	b = sep(strconv.AppendUint(b, uint64(toSubmit), 10))
	b = sep(strconv.AppendUint(b, uint64(minComplete), 10))
	b = appendFlags(b, uint64(flags), enterFlagNames)
	return append(b, ", NULL, 0"...)
}

func (s span) ioUringRegister(fd int, op uint32, arg unsafe.Pointer, nargs uint32, err error) {
	b := s.line("io_uring_register")
	b = sep(appendInt(b, fd))
	switch op {
	case registerProbe:
		p := (*uringProbe)(arg)
		b = append(b, "IORING_REGISTER_PROBE, "...)
		if err != nil {
			b = appendPtr(b, arg)
		} else {
			b = append(b, "{last_op="...)
			b = strconv.AppendUint(b, uint64(p.LastOp), 10)
			b = append(b, ", ops_len="...)
			b = strconv.AppendUint(b, uint64(p.OpsLen), 10)
			b = append(b, ", ops=[...]}"...)
		}
	case registerPbufRing:
		r := (*uringBufReg)(arg)
		b = append(b, "IORING_REGISTER_PBUF_RING, {ring_addr="...)
		b = appendPtr(b, *(*unsafe.Pointer)(unsafe.Pointer(&r.RingAddr)))
		b = append(b, ", ring_entries="...)
		b = strconv.AppendUint(b, uint64(r.RingEntries), 10)
		b = append(b, ", bgid="...)
		b = strconv.AppendUint(b, uint64(r.Bgid), 10)
		b = append(b, ", flags="...)
		b = appendFlags(b, uint64(r.Flags), []flag{{pbufRingMmap, "IOU_PBUF_RING_MMAP"}})
		b = append(b, '}')
	default:
		b = appendPtr(appendInt(b, int(op)), arg)
	}
	b = sep(b)
	b = strconv.AppendUint(b, uint64(nargs), 10)
	s.flush(ret(b, 0, err))
}

func (s span) mmap(size, prot, flags, fd int, off uint64, m []byte, err error) {
	b := s.line("mmap")
	b = append(b, "NULL, "...)
	b = sep(appendInt(b, size))
	b = append(b, "PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, "...)
	b = sep(appendInt(b, fd))
	if off == 0 {
		b = append(b, '0')
	} else {
		b = strconv.AppendUint(append(b, "0x"...), off, 16)
	}
	b = append(b, ") = "...)
	if err != nil {
		s.flush(appendErrno(append(b, "-1 "...), err))
		return
	}
	s.flush(appendPtr(b, unsafe.Pointer(unsafe.SliceData(m))))
}

func (s span) munmap(addr unsafe.Pointer, size int, err error) {
	b := appendInt(sep(appendPtr(s.line("munmap"), addr)), size)
	s.flush(ret(b, 0, err))
}

// narrateSQEs narrates the n entries io_uring_enter is about to submit, one
// line each.
func narrateSQEs(r *Ring, n uint32) {
	for i := r.submitted; i != r.submitted+n; i++ {
		sp := beginNote()
		if !sp.on() {
			return
		}
		sp.sqe(&r.sqes[i&r.sqMask])
	}
}

// narrateCQE narrates a completion as the loop reaps it.
func narrateCQE(r *Ring, c *CQE) {
	if sp := beginNote(); sp.on() {
		sp.cqe(r, c)
	}
}

// pointed is the address an SQE's 64-bit field holds, as a pointer.
func pointed(field *uint64) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(field)) }

func (s span) sqe(e *SQE) {
	b := s.line("→ sqe " + OpName(e.Opcode))
	var notes []byte // what goes between the brackets, before the user_data
	switch e.Opcode {
	case OpAccept:
		b = append(sep(appendInt(b, int(e.Fd))), "NULL, NULL, "...)
		b = appendFlags(b, uint64(e.OpFlags), sockFlags)
		if e.Ioprio&acceptMultishot != 0 {
			notes = append(notes, "multishot"...)
		}
	case OpRecv:
		b = sep(appendPtr(sep(appendInt(b, int(e.Fd))), pointed(&e.Addr)))
		b = sep(strconv.AppendUint(b, uint64(e.Len), 10))
		b = appendFlags(b, uint64(e.OpFlags), msgFlagNames)
		if e.Ioprio&recvMultishot != 0 {
			notes = append(notes, "multishot, "...)
		}
		if e.Flags&sqeBufferSelect != 0 {
			notes = strconv.AppendUint(append(notes, "buf_group="...), uint64(e.BufIndex), 10)
		}
	case OpSend:
		b = sep(appendInt(b, int(e.Fd)))
		p := unsafe.Slice((*byte)(pointed(&e.Addr)), e.Len)
		b = sep(appendBuf(b, p, len(p)))
		b = sep(strconv.AppendUint(b, uint64(e.Len), 10))
		b = appendFlags(b, uint64(e.OpFlags), msgFlagNames)
	case OpShutdown:
		b = appendHow(sep(appendInt(b, int(e.Fd))), int(e.Len))
	case OpClose:
		b = appendInt(b, int(e.Fd))
	case OpPollAdd:
		b = appendFlags(sep(appendInt(b, int(e.Fd))), uint64(e.OpFlags), pollFlags)
	case OpAsyncCancel:
		if e.OpFlags&cancelFD != 0 {
			b = sep(appendInt(b, int(e.Fd)))
		} else {
			b = strconv.AppendUint(append(b, "user_data=0x"...), e.Addr, 16)
			b = sep(b)
		}
		b = appendFlags(b, uint64(e.OpFlags), cancelFlagNames)
	case OpTimeout:
		b = appendTimespec(b, (*unix.Timespec)(pointed(&e.Addr)))
		b = append(b, ", 0, 0"...)
	case OpTimeoutRemove:
		b = strconv.AppendUint(append(b, "user_data=0x"...), e.Addr, 16)
		if e.OpFlags&timeoutUpdate != 0 {
			b = appendTimespec(sep(b), (*unix.Timespec)(pointed(&e.Off)))
			b = append(b, ", IORING_TIMEOUT_UPDATE"...)
		}
	default:
		b = appendInt(b, int(e.Fd))
	}
	b = append(b, ") ["...)
	if len(notes) > 0 {
		b = sep(append(b, notes...))
	}
	if e.Flags&sqeIOHardlink != 0 {
		b = append(b, "hardlinked to the next, "...)
	} else if e.Flags&sqeIOLink != 0 {
		b = append(b, "linked to the next, "...)
	}
	b = strconv.AppendUint(append(b, "user_data=0x"...), e.UserData, 16)
	s.flush(append(b, ']'))
}

func (s span) cqe(r *Ring, c *CQE) {
	op := c.Op()
	b := s.line("← cqe " + OpName(op))
	if fd := c.FD(); fd >= 0 {
		b = appendInt(b, fd)
	}
	if op == OpRecv && c.Res > 0 && c.Flags&CQEFBuffer != 0 && r.bufs != nil {
		p := r.bufs.Bytes(uint16(c.Flags>>cqeBufferShift), int(c.Res))
		b = appendInt(sep(appendBuf(sep(b), p, len(p))), r.bufs.size)
	}
	b = ret(b, int64(c.Res), c.Err())
	b = append(b, " ["...)
	if c.Flags != 0 {
		b = sep(appendFlags(append(b, "flags="...), uint64(c.Flags&0xffff), cqeFlagNames))
		if c.Flags&CQEFBuffer != 0 {
			b = sep(strconv.AppendUint(append(b, "buf="...), uint64(c.Flags>>cqeBufferShift), 10))
		}
	}
	b = strconv.AppendUint(append(b, "user_data=0x"...), c.UserData, 16)
	s.flush(append(b, ']'))
}
