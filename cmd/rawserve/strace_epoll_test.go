package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStraceEpoll runs the epoll model under real strace: the calls the
// docs teach (epoll_create1, one epoll_ctl per fd, epoll_pwait, accept4 until
// EAGAIN, read, write), the cost per keep-alive request the issue sets (at
// most 3 calls on average: read, write and a share of epoll_pwait), and an
// idle server sleeping in one epoll_pwait with no timeout.
func TestStraceEpoll(t *testing.T) {
	needStrace(t)
	trace := filepath.Join(t.TempDir(), "strace.out")
	s := runServer(t, "strace", "-f", "-o", trace, binary, "-model", "epoll", "-addr", "127.0.0.1:0", "-quiet")

	const conns, perConn = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for j := 0; j < perConn; j++ {
				io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // idle: every connection closed
	syscall.Kill(s.child(t), syscall.SIGTERM)
	if code := s.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d under strace\n%s", code, s.stderr)
	}
	calls := parseStrace(t, trace)

	// No ppoll: the loop waits in epoll_pwait only.
	epfd, lfd := -1, -1
	for _, c := range calls {
		if c.name == "ppoll" {
			t.Errorf("a ppoll in the epoll model: %s", c.line)
		}
		if c.name == "epoll_create1" && epfd < 0 {
			fmt.Sscan(c.result, &epfd)
		}
		if c.name == "listen" && lfd < 0 {
			lfd = c.fd
		}
	}
	if epfd < 0 || lfd < 0 {
		t.Fatalf("no epoll_create1 or listen in the trace")
	}

	// The teaching sequence: the listener joins the set, the loop waits,
	// accepts, reads at once (the request may be there already), registers
	// the connection once; epoll reports it readable; it reads, writes.
	seq := []*regexp.Regexp{
		regexp.MustCompile(`^epoll_create1\(EPOLL_CLOEXEC\) = \d+$`),
		regexp.MustCompile(fmt.Sprintf(`^epoll_ctl\(%d, EPOLL_CTL_ADD, %d, \{events=EPOLLIN\|EPOLLET, `, epfd, lfd)),
		regexp.MustCompile(fmt.Sprintf(`^epoll_pwait\(%d, \[\{events=EPOLLIN, data=\{u32=%d, `, epfd, lfd)),
		regexp.MustCompile(fmt.Sprintf(`^accept4\(%d, \{sa_family=AF_INET, .*SOCK_CLOEXEC\|SOCK_NONBLOCK\) = (\d+)$`, lfd)),
		regexp.MustCompile(`^read\(CONN, `),
		regexp.MustCompile(fmt.Sprintf(`^epoll_ctl\(%d, EPOLL_CTL_ADD, CONN, \{events=EPOLLIN\|EPOLLOUT\|EPOLLRDHUP\|EPOLLET, `, epfd)),
		regexp.MustCompile(fmt.Sprintf(`^epoll_pwait\(%d, \[.*\{events=EPOLLIN(?:\|EPOLLOUT)?, data=\{u32=CONN, `, epfd)),
		regexp.MustCompile(`^read\(CONN, "GET /healthz HTTP/1.1\\r\\n`),
		regexp.MustCompile(`^write\(CONN, "HTTP/1.1 200 OK\\r\\n`),
	}
	k, conn := 0, ""
	for _, c := range calls {
		if k == len(seq) {
			break
		}
		re := seq[k]
		if conn != "" {
			re = regexp.MustCompile(strings.ReplaceAll(re.String(), "CONN", conn))
		}
		if m := re.FindStringSubmatch(c.text()); m != nil {
			if len(m) > 1 && m[1] != "" {
				conn = m[1]
			}
			k++
		}
	}
	if k < len(seq) {
		t.Errorf("the sequence stops matching at step %d (%v)", k+1, seq[k])
	}
	t.Logf("the teaching sequence, on fd %s", conn)

	// Cost: the loop's calls from the first accept4 on, per request.
	count := map[string]int{}
	live := map[int]bool{}
	started := false
	lastClose := -1
	for i, c := range calls {
		if c.name == "accept4" && c.fd == lfd {
			started = true
			var fd int
			if _, err := fmt.Sscan(c.result, &fd); err == nil {
				live[fd] = true
			}
		}
		if !started {
			continue
		}
		mine := c.fd == epfd || c.fd == lfd || live[c.fd]
		switch {
		case !mine:
		case c.name == "setsockopt", c.name == "getsockopt", c.name == "getsockname", c.name == "fstat", c.name == "fcntl":
			t.Errorf("per-connection %s: %s", c.name, c.line)
		case c.name == "epoll_pwait", c.name == "read", c.name == "write", c.name == "accept4", c.name == "epoll_ctl", c.name == "close":
			count[c.name]++
			if c.name == "close" && live[c.fd] {
				delete(live, c.fd)
				lastClose = i
			}
		}
	}
	requests := conns * perConn
	perRequest := float64(count["epoll_pwait"]+count["read"]+count["write"]) / float64(requests)
	t.Logf("%d keep-alive requests on %d connections: %v; epoll_pwait+read+write per request: %.2f", requests, conns, count, perRequest)
	if count["write"] != requests || count["epoll_ctl"] < conns || count["epoll_ctl"] > conns+1 {
		t.Errorf("%v: want %d writes and one epoll_ctl per connection (and one DEL at shutdown)", count, requests)
	}
	if perRequest > 3 {
		t.Errorf("%.2f system calls per keep-alive request, want at most 3 (read, write, a share of epoll_pwait)", perRequest)
	}

	// Idle: after the last connection closed, one epoll_pwait with no
	// timeout, until SIGTERM's write to the eventfd ends it.
	var idle []call
	for _, c := range calls[lastClose+1:] {
		if c.name == "epoll_pwait" {
			idle = append(idle, c)
		}
	}
	if len(idle) != 1 || !strings.Contains(idle[0].args, ", -1, NULL, 0") {
		t.Errorf("idle: want one epoll_pwait with timeout -1 after the last close, got:\n%s", lines(idle))
	}
}
