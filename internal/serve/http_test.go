package serve_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/sock"
)

func TestKeepAliveAndPipelining(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := ts.dial(t)
		for i := 0; i < 3; i++ {
			io.WriteString(c, get("/healthz"))
			resp, body := c.readResp(t, "GET")
			if resp.StatusCode != 200 || body != "ok\n" || resp.Close {
				t.Fatalf("request %d: %d %q close=%v", i, resp.StatusCode, body, resp.Close)
			}
			if resp.Header.Get("Date") == "" || resp.Header.Get("Server") != "rawserve" || resp.Header.Get("Content-Type") == "" {
				t.Errorf("headers: %v", resp.Header)
			}
		}
		// Pipelined, with a discarded GET body in between: answered in order.
		io.WriteString(c, get("/nope")+"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
			"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"+"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		for _, want := range []struct {
			method string
			status int
		}{{"GET", 404}, {"GET", 200}, {"HEAD", 200}, {"GET", 200}} {
			resp, body := c.readResp(t, want.method)
			if resp.StatusCode != want.status {
				t.Fatalf("pipelined %s: status %d (%q), want %d", want.method, resp.StatusCode, body, want.status)
			}
			if want.method == "HEAD" && (body != "" || resp.ContentLength <= 0) {
				t.Errorf("HEAD: body %q, Content-Length %d: want GET's length and no body", body, resp.ContentLength)
			}
		}
		c.expectClosed(t)
	})
}

// Pipelined requests with chunked bodies between them keep their order.
func TestPipelinedChunked(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := ts.dial(t)
		chunked := "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		io.WriteString(c, chunked+get("/a")+chunked+get("/healthz"))
		for i, want := range []int{200, 404, 200, 200} {
			if resp, _ := c.readResp(t, "GET"); resp.StatusCode != want {
				t.Fatalf("response %d: %d, want %d", i, resp.StatusCode, want)
			}
		}
	})
}

func TestHTTP10(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := ts.dial(t)
		io.WriteString(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		resp, _ := c.readResp(t, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("Connection") != "keep-alive" {
			t.Fatalf("1.0 keep-alive: %d, Connection %q", resp.StatusCode, resp.Header.Get("Connection"))
		}
		io.WriteString(c, "GET /healthz HTTP/1.0\r\n\r\n") // asks for no keep-alive, so the server closes
		resp, _ = c.readResp(t, "GET")
		if resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		c.expectClosed(t)
	})
}

// Requests the server cannot frame or will not serve get a status and, when
// framing is uncertain, a close.
func TestErrorsAndClose(t *testing.T) {
	const allowed = "GET, HEAD, OPTIONS"
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{MaxBody: 100})
		for _, tc := range []struct {
			req    string
			status int
			closed bool
		}{
			{"GET / HTTP/1.1\r\n\r\n", 400, true}, // no Host
			{"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400, true},
			{"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, true},
			{"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", 431, true},
			{"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: y\r\n\r\n", 200, false},
			{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, true},
			{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413, true}, // 101 > MaxBody, refused as announced
			{"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, true},
			{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413, true},
			{"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("b", 100), 200, false},
			{"PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", 405, false},
			{"GET / HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\n\r\n", 417, true},
			{"GET /healthz HTTP/1.0\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n\r\n", 200, false}, // RFC 9110 10.1.1: ignored in 1.0
			{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 405, false},
			{"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501, false},
			{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 204, false},
			{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort", 400, true}, // EOF mid-body: see TestHalfClosedClient
		} {
			c := ts.dial(t)
			io.WriteString(c, tc.req)
			if strings.HasSuffix(tc.req, "short") {
				c.closeWrite() // the body ends early
			}
			method := strings.Fields(tc.req)[0]
			resp, _ := c.readResp(t, method)
			if resp.StatusCode != tc.status {
				t.Errorf("%.40q: status %d, want %d", tc.req, resp.StatusCode, tc.status)
				continue
			}
			if tc.status == 405 && resp.Header.Get("Allow") != allowed || tc.status == 204 && resp.Header.Get("Allow") != allowed {
				t.Errorf("%.40q: Allow %q", tc.req, resp.Header.Get("Allow"))
			}
			if tc.closed {
				if !resp.Close {
					t.Errorf("%.40q: no Connection: close", tc.req)
				}
				c.expectClosed(t)
			} else {
				io.WriteString(c, get("/healthz"))
				if resp, _ := c.readResp(t, "GET"); resp.StatusCode != 200 {
					t.Errorf("%.40q: next request on the connection: %d", tc.req, resp.StatusCode)
				}
			}
			c.Close()
		}
	})
}

// Expect: 100-continue gets 100 Continue when the body will be read — and
// the body is read, and the next request framed right after it. A body too
// large to read gets no 100, but the final 413 and a close.
func TestExpect100(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{MaxBody: 1000})
		c := ts.dial(t)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		line, err := c.br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("interim response %q, %v", line, err)
		}
		if blank, _ := c.br.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("after 100: %q", blank)
		}
		io.WriteString(c, "hello"+get("/nope"))
		if resp, _ := c.readResp(t, "GET"); resp.StatusCode != 200 {
			t.Fatalf("final response %d", resp.StatusCode)
		}
		if resp, _ := c.readResp(t, "GET"); resp.StatusCode != 404 {
			t.Fatalf("request after the body: %d", resp.StatusCode)
		}
		c.Close() // or it holds the serial server until its idle timeout

		c = ts.dial(t)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
		resp, _ := c.readResp(t, "GET")
		if resp.StatusCode != 413 || !resp.Close {
			t.Fatalf("too large with Expect: %d close=%v, want 413 and close, no 100", resp.StatusCode, resp.Close)
		}
	})
}

// A client that sends its request and then shuts down its sending side
// (a half-close, as `nc -N` does) still gets its response.
func TestHalfClosedClient(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := ts.dial(t)
		io.WriteString(c, get("/healthz"))
		c.closeWrite()
		resp, body := c.readResp(t, "GET")
		if resp.StatusCode != 200 || body != "ok\n" {
			t.Fatalf("half-closed client: %d %q", resp.StatusCode, body)
		}
		c.expectClosed(t)
	})
}

// Half-close: a client that pipelines two requests and shuts down its
// sending side gets both responses — one of them larger than the socket
// buffers, so it is still being sent when the EOF has been seen — then EOF.
func TestHalfClosePipelined(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		root, files := fileTree(t, 2)
		big := bytes.Repeat([]byte("half-close "), 200<<10) // 2.2 MB
		if err := os.WriteFile(filepath.Join(root, "big"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		files["/big"] = string(big)
		files["/healthz"] = "ok\n"
		ts := m.start(t, settings{Dir: openDir(t, root)})
		for _, pair := range [][2]string{
			{"/f000", "/f001"},
			{"/healthz", "/big"},
			{"/big", "/f001"},
			{"/healthz", "/healthz"},
		} {
			c := ts.dial(t)
			io.WriteString(c, get(pair[0])+get(pair[1]))
			c.closeWrite()
			for i, p := range pair {
				if err := c.expect("", 200, files[p]); err != nil {
					t.Fatalf("%v: response %d: %v", pair, i, err)
				}
			}
			if err := c.closedOrReset(); err != nil {
				t.Errorf("%v after both responses: %v", pair, err)
			}
			c.Close()
		}
	})
}

// The default page tells the client about its own connection, and escapes
// what the client sent.
func TestDefaultPage(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := ts.dial(t)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Test: <script>alert(1)</script>\r\nConnection: close\r\n\r\n")
		resp, body := c.readResp(t, "GET")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		_, port, _ := net.SplitHostPort(ts.addr)
		for _, want := range []string{"accept4", "read(2)", "&lt;script&gt;alert(1)&lt;/script&gt;", "local port is <b>" + port + "</b>", c.LocalAddr().String()} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "{{") {
			t.Error("page has unescaped client bytes or an unfilled marker")
		}
		// The steps on the page are the serial model's: another model says so.
		for _, other := range models {
			if has := strings.Contains(body, other.pageNote); other.pageNote != "" && has != (other.name == m.name) {
				t.Errorf("the %s model's page has the %s model's note %q: %v", m.name, other.name, other.pageNote, has)
			}
		}
	})
}

// Without -dir, the docs the page links to come from the binary: a doc as
// HTML with its sections' ids, a diagram as SVG, and a 404 for the rest.
// With -dir, /docs/ is the directory's, like any other path.
func TestDocsServed(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := ts.dial(t)
		for _, tc := range []struct{ path, ctype, has string }{
			{"/docs/walkthrough.md", "text/html; charset=utf-8", `<h2 id="accepting">`},
			{"/docs/diagrams/states.svg", "image/svg+xml", "<svg"},
			{"/docs/", "text/html; charset=utf-8", `<a href="/docs/models.md">`},
		} {
			io.WriteString(c, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.readResp(t, "GET")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(body, tc.has) {
				t.Errorf("%s: %d %q, has %q: %v", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.has, strings.Contains(body, tc.has))
			}
		}
		for _, p := range []string{"/docs/nope.md", "/docs/../README.md", "/docs/diagrams/states.dot"} {
			io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, _ := c.readResp(t, "GET"); resp.StatusCode != 404 {
				t.Errorf("%s: %d, want 404", p, resp.StatusCode)
			}
		}
	})
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "docs"), 0o755)
	os.WriteFile(filepath.Join(dir, "docs", "walkthrough.md"), []byte("mine\n"), 0o644)
	ts := serialModel.start(t, settings{Dir: openDir(t, dir)})
	if err := ts.dial(t).expect(get("/docs/walkthrough.md"), 200, "mine\n"); err != nil {
		t.Errorf("with -dir, /docs/ is the directory's: %v", err)
	}
}

// With a Story attached to the narration, the page shows the calls made
// for the visitor's own connection — the client's bytes escaped. The serial
// model alone tells a story: in the others, the calls of many connections
// interleave.
func TestPageStory(t *testing.T) {
	story := new(page.Story)
	sock.SetTrace(story, false)
	defer sock.SetTrace(nil, false)
	ts := serialModel.start(t, settings{Story: story})
	time.Sleep(50 * time.Millisecond) // idle: the story starts with accept4 = EAGAIN
	c := ts.dial(t)
	// Within the 32 bytes a narrated read shows: hostile markup.
	io.WriteString(c, "GET / HTTP/1.1\r\nX:<b>&\r\nHost: x\r\nConnection: close\r\n\r\n")
	_, trace := pageTrace(t, c)
	for _, want := range []string{"accept4(", "= -1 EAGAIN", "ppoll(", "SOCK_CLOEXEC|SOCK_NONBLOCK) = ", `read(`, `&#34;GET / HTTP/1.1\r\nX:&lt;b&gt;&amp;\r\n`} {
		if !strings.Contains(trace, want) {
			t.Errorf("narration on the page lacks %q:\n%s", want, trace)
		}
	}
	if strings.Contains(trace, "<b>") {
		t.Error("the client's bytes reached the page unescaped")
	}
}

// In the epoll model the page's story comes from a journal of every
// connection's calls: the visitor sees their own — the epoll_pwait that
// reported the listener, their accept4 and read — and not another client's.
func TestPageStoryEpoll(t *testing.T) {
	pageStory(t, epollModel, func(fd string) []string {
		return []string{"epoll_pwait(", "SOCK_CLOEXEC|SOCK_NONBLOCK) = " + fd, "read(" + fd + `, &#34;GET / HTTP/1.1\r\n`}
	})
}

// pageStory has a client fetch the demo page from model m while another
// is connected, and checks that the page's story has what want(fd) lists
// for the client's connection fd, and nothing of the other client's.
func pageStory(t *testing.T, m model, want func(fd string) []string) {
	journal := page.NewJournal()
	sock.SetTrace(journal, false)
	defer sock.SetTrace(nil, false)
	ts := m.start(t, settings{Story: journal})
	other := ts.dial(t) // another client, with a request the page must not show
	io.WriteString(other, "GET /healthz?other HTTP/1.1\r\nHost: x\r\n\r\n")
	other.readResp(t, "GET")
	c := ts.dial(t)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	body, trace := pageTrace(t, c)
	fd := regexp.MustCompile(`The last call returned fd (\d+)`).FindStringSubmatch(body)
	if fd == nil {
		t.Fatalf("the page does not say which fd the accept returned")
	}
	for _, want := range want(fd[1]) {
		if !strings.Contains(trace, want) {
			t.Errorf("narration on the page lacks %q:\n%s", want, trace)
		}
	}
	if strings.Contains(trace, "other") {
		t.Errorf("the page shows another client's calls:\n%s", trace)
	}
}

// In the uring model the journal holds ring entries too: the visitor sees
// the completion of the accept that returned their connection, the recv
// armed for it and the completion that brought their request, with the
// io_uring_enter calls that carried them — and not another client's.
func TestPageStoryUring(t *testing.T) {
	pageStory(t, uringModel, func(fd string) []string {
		return []string{"io_uring_enter(", "← cqe accept(", ") = " + fd + " [flags=F_MORE", "getpeername(" + fd + ",",
			"→ sqe recv(" + fd + ", NULL, 0, 0) [multishot", "← cqe recv(" + fd + `, &#34;GET / HTTP/1.1\r\n`}
	})
}

// pageTrace reads the demo page the request just sent asked for, and
// returns it and its list of narrated calls.
func pageTrace(t *testing.T, c *client) (body, trace string) {
	t.Helper()
	resp, body := c.readResp(t, "GET")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	i := strings.Index(body, `<ol class="trace">`)
	if i < 0 {
		t.Fatalf("no narration on the page:\n%s", body)
	}
	trace = body[i:]
	return body, trace[:strings.Index(trace, "</ol>")]
}

func TestAccessLog(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		for _, logHealthz := range []bool{false, true} {
			ts := m.start(t, settings{LogHealthz: logHealthz})
			c := ts.dial(t)
			io.WriteString(c, get("/healthz")+"GET /?probe=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			c.readResp(t, "GET")
			c.readResp(t, "GET")
			log := ts.logged("probe=1")
			if !strings.HasPrefix(log, "127.0.0.1 - - [") || !strings.Contains(log, `] "GET /?probe=1 HTTP/1.1" 200 `) {
				t.Errorf("access log: %q", log)
			}
			if strings.Contains(log, "/healthz") != logHealthz {
				t.Errorf("LogHealthz %v, access log:\n%s", logHealthz, log)
			}
		}
	})
}
