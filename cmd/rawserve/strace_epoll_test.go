package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// TestStraceEpoll runs the epoll model under real strace: the calls the
// docs teach (epoll_create1, one epoll_ctl per fd, epoll_pwait, accept4 until
// EAGAIN, read, write), the cost per keep-alive request the issue sets (at
// most 3 calls on average: read, write and a share of epoll_pwait), and an
// idle server sleeping in one epoll_pwait with no timeout.
func TestStraceEpoll(t *testing.T) {
	needStrace(t)
	s, trace := underStrace(t, nil, "-model", "epoll", "-addr", "127.0.0.1:0", "-quiet")

	const conns, perConn = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.Ready())
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
	calls := stopTraced(t, s, trace)

	// No ppoll: the loop waits in epoll_pwait only.
	epfd, lfd := -1, -1
	for _, c := range calls {
		if c.Name == "ppoll" {
			t.Errorf("a ppoll in the epoll model: %s", c.Line())
		}
		if c.Name == "epoll_create1" && epfd < 0 {
			epfd = c.Ret()
		}
		if c.Name == "listen" && lfd < 0 {
			lfd = c.FD()
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
		if m := re.FindStringSubmatch(c.String()); m != nil {
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
		if c.Name == "accept4" && c.FD() == lfd {
			started = true
			if fd := c.Ret(); fd >= 0 {
				live[fd] = true
			}
		}
		if !started {
			continue
		}
		mine := c.FD() == epfd || c.FD() == lfd || live[c.FD()]
		switch {
		case !mine:
		case c.Name == "setsockopt", c.Name == "getsockopt", c.Name == "getsockname", c.Name == "fstat", c.Name == "fcntl":
			t.Errorf("per-connection %s: %s", c.Name, c.Line())
		case c.Name == "epoll_pwait", c.Name == "read", c.Name == "write", c.Name == "accept4", c.Name == "epoll_ctl", c.Name == "close":
			count[c.Name]++
			if c.Name == "close" && live[c.FD()] {
				delete(live, c.FD())
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
	// timeout, until SIGTERM's write to the eventfd ends it. The kernel may
	// hand SIGTERM itself to the loop's thread (to the main thread, when the
	// Go scheduler has put the loop there): that wait returns EINTR, and the
	// loop waits again.
	var idle []strace.Call
	for _, c := range calls[lastClose+1:] {
		if c.Name == "epoll_pwait" && c.Errno() != "EINTR" {
			idle = append(idle, c)
		}
	}
	if len(idle) != 1 || !strings.Contains(idle[0].Args, ", -1, NULL, 0") {
		t.Errorf("idle: want one epoll_pwait with timeout -1 after the last close, got:\n%s", lines(idle))
	}
}
