package strace

import (
	"strconv"
	"strings"
	"testing"
)

// testdata/serial.trace is what `strace -f -o FILE -e trace=eventfd2,socket,
// setsockopt,bind,listen,accept4,read,write,ppoll,shutdown,close,nanosleep,
// futex` wrote for rawserve serving curl /healthz, then / and /healthz on
// one connection, then SIGTERM: 339 lines, 90 of them calls another
// thread's line cut in two, one a call the process's exit cut short. Its server's calls, joined and in order of
// completion, must be these — the ppoll that SIGTERM ends, for one, resumes
// after the signal goroutine's write on another thread.
func TestReadJoinsSplitCallsAndOwnKeepsTheServers(t *testing.T) {
	calls, err := Read("testdata/serial.trace")
	if err != nil {
		t.Fatal(err)
	}
	// 339 lines: 90 starts of split calls, 9 signals and exits, one call
	// that never returned (nanosleep, when the process exited), and calls.
	if len(calls) != 239 {
		t.Errorf("%d calls, want 239", len(calls))
	}
	for _, c := range calls {
		if strings.Contains(c.String(), "unfinished") || strings.Contains(c.String(), "resumed") || c.TID == 0 {
			t.Errorf("not joined: %s", c.Line())
		}
	}
	want := `18522 eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 5
18522 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 6
18522 setsockopt(6, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
18522 setsockopt(6, SOL_TCP, TCP_NODELAY, [1], 4) = 0
18522 bind(6, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
18522 listen(6, 4096) = 0
18528 accept4(6, 0x4c5e29b0e24, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)
18528 ppoll([{fd=6, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = 1 ([{fd=6, revents=POLLIN}])
18528 accept4(6, {sa_family=AF_INET, sin_port=htons(42798), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 7
18528 read(7, "GET /healthz HTTP/1.1\r\nHost: 127"..., 20480) = 86
18528 write(7, "HTTP/1.1 200 OK\r\nDate: Sun, 06 D"..., 137) = 137
18528 ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999999067}, NULL, 0) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=1, tv_nsec=999997055})
18528 read(7, "", 20480) = 0
18528 shutdown(7, SHUT_WR) = 0
18528 read(7, "", 20480) = 0
18528 close(7) = 0
18528 accept4(6, 0x4c5e29b0e24, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)
18528 ppoll([{fd=6, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = 1 ([{fd=6, revents=POLLIN}])
18528 accept4(6, {sa_family=AF_INET, sin_port=htons(42808), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 7
18528 read(7, "GET / HTTP/1.1\r\nHost: 127.0.0.1:"..., 20480) = 79
18528 write(7, "HTTP/1.1 200 OK\r\nDate: Sun, 06 D"..., 5799) = 5799
18528 ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999999349}, NULL, 0) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=1, tv_nsec=999507892})
18528 read(7, "GET /healthz HTTP/1.1\r\nHost: 127"..., 20480) = 86
18528 write(7, "HTTP/1.1 200 OK\r\nDate: Sun, 06 D"..., 137) = 137
18528 ppoll([{fd=7, events=POLLIN}, {fd=5, events=POLLIN}], 2, {tv_sec=1, tv_nsec=999999689}, NULL, 0) = 1 ([{fd=7, revents=POLLIN}], left {tv_sec=1, tv_nsec=999546418})
18528 read(7, "", 20480) = 0
18528 shutdown(7, SHUT_WR) = 0
18528 read(7, "", 20480) = 0
18528 close(7) = 0
18528 accept4(6, 0x4c5e29b0e24, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)
18527 write(5, "\1\0\0\0\0\0\0\0", 8) = 8
18528 ppoll([{fd=6, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = 1 ([{fd=5, revents=POLLIN}])
18528 close(6) = 0
18528 close(5) = 0
`
	var got strings.Builder
	for _, c := range Own(calls) {
		got.WriteString(c.Line() + "\n")
	}
	if got.String() != want {
		t.Errorf("the server's calls:\n%s\nwant:\n%s", got.String(), want)
	}

	n := Tally(calls)
	if n["accept4"] != (Count{5, 3}) || n["ppoll"] != (Count{6, 0}) || n["write"] != (Count{8, 0}) {
		t.Errorf("tally: %v", n)
	}
}

// An io_uring is the program's: its setup, the mappings of its rings and
// their unmapping, and its enters; so are the connections its accept gave
// (OwnWith), which strace never sees being made — even after a close, since
// the ring may give the number again. The runtime's own mappings are not.
func TestOwnRing(t *testing.T) {
	calls, err := Parse(strings.NewReader(`mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
io_uring_setup(256, {flags=IORING_SETUP_CQSIZE, sq_entries=256}) = 5
mmap(NULL, 66624, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, 5, 0) = 0x7f0000100000
mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, 3, 0) = 0x7f0000200000
io_uring_enter(5, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) = 1
getpeername(8, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, [112 => 16]) = 0
close(8) = 0
getpeername(8, {sa_family=AF_INET, sin_port=htons(2), sin_addr=inet_addr("127.0.0.1")}, [112 => 16]) = 0
getpeername(9, {sa_family=AF_INET, sin_port=htons(3), sin_addr=inet_addr("127.0.0.1")}, [112 => 16]) = 0
munmap(0x7f0000200000, 4096) = 0
munmap(0x7f0000100000, 66624) = 0
close(5) = 0
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range OwnWith(calls, 8) {
		got = append(got, c.Name+" "+strings.SplitN(c.Args, ",", 2)[0])
	}
	want := "io_uring_setup 256|mmap NULL|io_uring_enter 5|getpeername 8|close 8|getpeername 8|munmap 0x7f0000100000|close 5"
	if strings.Join(got, "|") != want {
		t.Errorf("kept %q\nwant %q", strings.Join(got, "|"), want)
	}
}

// Without -f there is no thread id; a call resumed with no start (strace
// attached in its middle) is left out, as are signals and exits.
func TestParseWithoutThreadIDs(t *testing.T) {
	calls, err := Parse(strings.NewReader(`<... read resumed>"x", 1) = 1
read(3,  <unfinished ...>
--- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=1, si_uid=0} ---
<... read resumed>"abc", 10)      = 3
exit_group(0)                     = ?
+++ exited with 0 +++
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].String() != `read(3, "abc", 10) = 3` || calls[1].String() != "exit_group(0) = ?" || calls[0].TID != 0 {
		t.Errorf("got %q", calls)
	}
}

func TestCallFields(t *testing.T) {
	for _, tc := range []struct {
		line  string
		fd    int
		ret   int
		errno string
	}{
		{`1 accept4(6, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 7`, 6, 7, ""},
		{`1 read(7, 0x1960ca600001, 20479)    = -1 EAGAIN (Resource temporarily unavailable)`, 7, -1, "EAGAIN"},
		{`1 ppoll([{fd=9, events=POLLIN}, {fd=5, events=POLLIN}], 2, NULL, NULL, 0) = ? ERESTARTNOHAND (To be restarted if no handler)`, 9, -1, "ERESTARTNOHAND"},
		{`1 ppoll([{fd=9, events=POLLOUT}], 1, NULL, NULL, 0) = 1 ([{fd=9, revents=POLLOUT}])`, 9, 1, ""},
		{`1 close(12) = 0`, 12, 0, ""},
		{`1 openat(AT_FDCWD, "/proc/sys/net/core/somaxconn", O_RDONLY|O_CLOEXEC) = 6`, -1, 6, ""},
		{`1 epoll_pwait(7, [], 256, 0, NULL, 0) = 0`, 7, 0, ""},
		{`1 rt_sigreturn({mask=[]}) = 202`, -1, 202, ""},
	} {
		calls, err := Parse(strings.NewReader(tc.line))
		if err != nil || len(calls) != 1 {
			t.Fatalf("%s: %v %v", tc.line, calls, err)
		}
		c := calls[0]
		if c.FD() != tc.fd || c.Ret() != tc.ret || c.Errno() != tc.errno {
			t.Errorf("%s: FD %d Ret %d Errno %q; want %d %d %q", tc.line, c.FD(), c.Ret(), c.Errno(), tc.fd, tc.ret, tc.errno)
		}
	}
}

// testdata/serial.count is strace -f -c -o FILE's table for a short run.
func TestReadCounts(t *testing.T) {
	n, err := ReadCounts("testdata/serial.count")
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != 35 || n["futex"] != (Count{43, 1}) || n["accept4"] != (Count{5, 3}) || n["ppoll"] != (Count{5, 0}) || n["arch_prctl"] != (Count{1, 0}) {
		t.Errorf("%d calls: %v", len(n), n)
	}
	if _, ok := n["total"]; ok {
		t.Error("the total row counted as a call")
	}
	if _, err := ReadCounts("testdata/serial.trace"); err == nil {
		t.Error("a file of calls read as a table of counts")
	}
}

// Two loops share the descriptor table: the number one loop closes may be
// handed to the other's accept4 before strace prints the end of the close.
// The close is still the program's, and so is what the other loop does with
// the number after (strace's lines, in the order they came, from a run
// under load of TestTraceThreadsAgreesWithStrace).
func TestOwnCloseCutByAnotherThread(t *testing.T) {
	calls, err := Parse(strings.NewReader(`100 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 7
101 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP) = 8
100 accept4(7, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 12
100 close(12 <unfinished ...>
101 accept4(8, {sa_family=AF_INET, sin_port=htons(2), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 12
101 read(12, "GET", 20480) = 3
101 close(12 <unfinished ...>
102 futex(0x1, FUTEX_WAKE_PRIVATE, 1) = 1
101 <... close resumed>) = 0
100 <... close resumed>) = 0
101 accept4(8, {sa_family=AF_INET, sin_port=htons(3), sin_addr=inet_addr("127.0.0.1")}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 12
101 read(12, "GET", 20480) = 3
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range Own(calls) {
		got = append(got, strconv.Itoa(c.TID)+" "+c.Name)
	}
	want := "100 socket|101 socket|100 accept4|101 accept4|101 read|101 close|100 close|101 accept4|101 read"
	if strings.Join(got, "|") != want {
		t.Errorf("kept %q\nwant %q", strings.Join(got, "|"), want)
	}
}
