package serve_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHTTPVersions: a request in HTTP/1.x, for any one-digit x above 1, is
// processed as HTTP/1.1 (RFC 9110 §2.5: as the highest minor version the
// server conforms to) and answered in HTTP/1.1, on a connection that stays
// open as 1.1's do; another major version is 505 and a close. net/http,
// asked the same, gives the same statuses. The access log shows each
// request's version as it was sent.
func TestHTTPVersions(t *testing.T) {
	oracle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
	t.Cleanup(oracle.Close)
	versions := []string{"0.9", "1.0", "1.1", "1.2", "1.3", "1.9", "2.0", "3.0", "9.9"}
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{LogHealthz: true})
		for _, v := range versions {
			req := "GET /healthz?v=" + v + " HTTP/" + v + "\r\nHost: x\r\n\r\n"
			status, line := statusLine(t, ts.addr, req)
			wantStatus, _ := statusLine(t, oracle.Listener.Addr().String(), req)
			if status != wantStatus {
				t.Errorf("HTTP/%s: %d, net/http %d", v, status, wantStatus)
			}
			want := "HTTP/1.1 505 HTTP Version Not Supported"
			if strings.HasPrefix(v, "1.") {
				want = "HTTP/1.1 200 OK"
			}
			if line != want {
				t.Errorf("HTTP/%s: status line %q, want %q", v, line, want)
			}
		}
		// HTTP/1.2 persists without asking, and needs Host, as 1.1 does.
		c := ts.dial(t)
		for i := range 2 {
			resp, body, err := c.fetch("GET /healthz?v=1.2 HTTP/1.2\r\nHost: x\r\n\r\n", "GET")
			if err != nil || resp.StatusCode != 200 || body != "ok\n" || resp.Close || resp.Proto != "HTTP/1.1" {
				t.Fatalf("HTTP/1.2, request %d: %v %v", i, resp, err)
			}
		}
		if resp, _, err := c.fetch("GET /healthz HTTP/1.2\r\n\r\n", "GET"); err != nil || resp.StatusCode != 400 || !resp.Close {
			t.Errorf("HTTP/1.2 without Host: %v %v", resp, err)
		}
		for _, v := range versions {
			if strings.HasPrefix(v, "1.") {
				if line := fmt.Sprintf(`"GET /healthz?v=%s HTTP/%s" 200 `, v, v); !strings.Contains(ts.logged(line), line) {
					t.Errorf("access log lacks %q:\n%s", line, ts.log.String())
				}
			}
		}
	})
}

// statusLine sends req on a connection of its own and returns the status
// and the status line of the answer.
func statusLine(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, req)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	var status int
	fmt.Sscanf(line[len("HTTP/1.1 "):], "%d", &status)
	return status, line
}
