// Command noring runs a program the way Docker's default seccomp profile
// treats io_uring: io_uring_setup, io_uring_enter and io_uring_register
// fail with the errno given (EPERM, as Docker's profile answers; or
// ENOSYS), every other call is allowed. It installs the filter on its own
// thread and execs the program from that thread, which keeps the filter.
//
//	noring EPERM|ENOSYS PROGRAM [ARG...]
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	runtime.LockOSThread() // the filter is this thread's, and the exec's
	errno, ok := map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS}[os.Args[1]]
	if !ok || len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: noring EPERM|ENOSYS PROGRAM [ARG...]")
		os.Exit(2)
	}
	// A = the system call's number; the three io_uring calls are 425 to
	// 427 on every architecture (the numbers new calls share since 5.1).
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, Jt: 0, Jf: 2, K: unix.SYS_IO_URING_SETUP},
		{Code: unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, Jt: 1, Jf: 0, K: unix.SYS_IO_URING_REGISTER},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "noring: prctl(PR_SET_NO_NEW_PRIVS):", err)
		os.Exit(1)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fmt.Fprintln(os.Stderr, "noring: seccomp:", e)
		os.Exit(1)
	}
	err := syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
	fmt.Fprintln(os.Stderr, "noring: exec:", err)
	os.Exit(1)
}
