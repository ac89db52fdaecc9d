package sock

import (
	"sort"
	"sync/atomic"
)

// Counting system calls: what the server itself made, call by call, with
// no tracer attached. strace counts too (strace -f -c), but it stops the
// process at every call, which slows the server down — and a server that
// is slowed down finds more work waiting each time it wakes, so it makes
// fewer calls per request than it would at full speed. The counters are
// kept at the seam, where each call is made: begin adds one to the call's
// counter when counting is on.
//
// Off, they cost nothing: begin's one atomic load of the tracer finds nil
// and returns, as it does without narration. On (CountCalls), every call
// costs an atomic add, and a tracer is always installed (one that narrates
// nothing when -trace is off).
//
// What they do not see: the Go runtime's own calls (futex, nanosleep,
// its signals and memory), and the writes of the narration itself.

// callID names a system call the seam makes.
type callID uint8

const (
	cSocket callID = iota
	cSetsockopt
	cGetsockopt
	cBind
	cListen
	cAccept4
	cGetsockname
	cGetpeername
	cConnect
	cRead
	cWrite
	cSendfile
	cShutdown
	cClose
	cPpoll
	cEventfd2
	cEpollCreate1
	cEpollCtl
	cEpollPwait
	cOpenat
	cOpenat2
	cFstat
	cNewfstatat
	cStatx
	cDup3
	cGetdents64
	cPread64
	cRenameat
	cUnlinkat
	cIoUringSetup
	cIoUringEnter
	cIoUringRegister
	cMmap
	cMunmap
	cIoctl
	numCalls
)

var callNames = [numCalls]string{cSocket: "socket", cSetsockopt: "setsockopt", cGetsockopt: "getsockopt", cBind: "bind", cListen: "listen", cAccept4: "accept4", cGetsockname: "getsockname", cGetpeername: "getpeername", cConnect: "connect", cRead: "read", cWrite: "write", cSendfile: "sendfile", cShutdown: "shutdown", cClose: "close", cPpoll: "ppoll", cEventfd2: "eventfd2", cEpollCreate1: "epoll_create1", cEpollCtl: "epoll_ctl", cEpollPwait: "epoll_pwait", cOpenat: "openat", cOpenat2: "openat2", cFstat: "fstat", cNewfstatat: "newfstatat", cStatx: "statx", cDup3: "dup3", cGetdents64: "getdents64", cPread64: "pread64", cRenameat: "renameat", cUnlinkat: "unlinkat", cIoUringSetup: "io_uring_setup", cIoUringEnter: "io_uring_enter", cIoUringRegister: "io_uring_register", cMmap: "mmap", cMunmap: "munmap", cIoctl: "ioctl"}

// counts are the counters, one per call; nil until CountCalls.
var counts atomic.Pointer[[numCalls]atomic.Uint64]

// CountCalls starts counting every system call the seam makes from now
// on. Call it at start-up, before the calls to count.
func CountCalls() {
	counts.CompareAndSwap(nil, new([numCalls]atomic.Uint64))
	if active.Load() == nil {
		active.CompareAndSwap(nil, &tracer{own: -1})
	}
}

// CallCount is how often one system call was made.
type CallCount struct {
	Name  string
	Calls uint64
}

// CallCounts returns the counts since CountCalls, most made first (nil
// when not counting).
func CallCounts() []CallCount {
	c := counts.Load()
	if c == nil {
		return nil
	}
	var all []CallCount
	for id := range c {
		if n := c[id].Load(); n > 0 {
			all = append(all, CallCount{callNames[id], n})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Calls > all[j].Calls })
	return all
}
