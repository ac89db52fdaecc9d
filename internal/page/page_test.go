package page

import (
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	in := &Info{
		Peer: "127.0.0.1:41234", Listener: "127.0.0.1:8080", ListenerPort: 8080,
		FD: 7, ListenFD: 5, Wait: "poll",
		AcceptCalls: 2, AcceptEAGAINs: 1, AcceptWaits: 1,
		Request: 3, Reads: 1, ReadWaits: 1,
		Head: []byte("GET /<b>&'\" HTTP/1.1\r\nHost: x\r\n\r\n"),
	}
	out := string(Append(nil, in))
	if strings.Contains(out, "{{") || strings.Contains(out, "}}") {
		t.Errorf("unfilled marker in:\n%s", out)
	}
	for _, want := range []string{
		"127.0.0.1:41234", "local port is <b>8080</b>", "fd 7", "fd 5",
		"<span class=\"n\">2</span> time(s)", "request number 3",
		`GET /&lt;b&gt;&amp;&#39;&#34; HTTP/1.1\r\n`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, anchor := range []string{"#listening", "#accepting", "#reading", "#writing", "#closing"} {
		if !strings.Contains(out, `docs/walkthrough.md`+anchor+`"`) {
			t.Errorf("page does not link to the walkthrough's %s", anchor)
		}
	}
	for _, id := range []string{`id="listen"`, `id="accept"`, `id="read"`, `id="write"`, `id="close"`} {
		if !strings.Contains(out, id) {
			t.Errorf("page lacks section %s", id)
		}
	}
	if strings.Contains(out, "<b>&") || strings.Contains(out, "/<b>") {
		t.Error("client bytes reached the page unescaped")
	}
}

func TestAppendEscaped(t *testing.T) {
	got := string(AppendEscaped(nil, "<a href='x'>&\"</a>\r\n"))
	want := "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;\\r\\n\n"
	if got != want {
		t.Errorf("AppendEscaped = %q, want %q", got, want)
	}
}

func TestStory(t *testing.T) {
	var s Story
	s.Write([]byte("accept4(6, 0x1, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)\n"))
	s.Write([]byte(`read(7, "GET /<script> HTTP/1.1\r\n"..., 20480) = 40` + "\n"))
	out := string(Append(nil, &Info{Story: &s}))
	for _, want := range []string{
		"<li><code>accept4(6, 0x1, [112], SOCK_CLOEXEC|SOCK_NONBLOCK) = -1 EAGAIN (Resource temporarily unavailable)</code>",
		"No connection was waiting yet",
		`docs/walkthrough.md#accepting">More</a>`,
		"&#34;GET /&lt;script&gt; HTTP/1.1",
		"does not wait for your FIN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("story lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("client bytes unescaped")
	}
	for i := 0; i < StoryLines+5; i++ {
		s.Write([]byte("close(9) = 0\n"))
	}
	if out := string(s.appendHTML(nil, 7)); !strings.Contains(out, "… and 7 more calls") {
		t.Errorf("a long story should say how much it left out:\n%.300s", out)
	}
	s.Reset()
	if out := string(s.appendHTML(nil, 7)); strings.Contains(out, "<li>") {
		t.Errorf("Reset kept lines: %s", out)
	}
}

// A journal keeps every connection's calls; the page picks the visitor's:
// the wait that reported the listener, their accept4, the epoll_ctl, and
// then only calls on their descriptor and the waits that reported it.
func TestJournal(t *testing.T) {
	j := NewJournal()
	for _, l := range []string{
		"epoll_pwait(4, [{events=EPOLLIN, data={u32=8, u64=1}}], 256, -1, NULL, 8) = 1", // fd 8's old connection
		"read(8, \"old\", 20480) = 3",
		"close(8) = 0",
		"epoll_pwait(4, [{events=EPOLLIN, data={u32=6, u64=18446744073709551615}}], 256, -1, NULL, 8) = 1",
		"accept4(6, {sa_family=AF_INET, ...}, [112 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 8",
		"read(8, \"GET / HTTP/1.1\\r\\n\", 20480) = 16",
		"read(9, \"GET /other\", 20480) = 10", // another connection's
		"read(8, 0x1, 20464) = -1 EAGAIN (Resource temporarily unavailable)",
		"epoll_ctl(4, EPOLL_CTL_ADD, 8, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data={u32=8, u64=2}}) = 0",
		"epoll_pwait(4, [{events=EPOLLIN, data={u32=9, u64=3}}], 256, 1000, NULL, 8) = 1",
		"epoll_pwait(4, [{events=EPOLLIN, data={u32=8, u64=2}}, {events=EPOLLOUT, data={u32=18, u64=5}}], 256, 1000, NULL, 8) = 2",
		"read(8, \"\\r\\n\", 20464) = 2",
		"write(18, \"HTTP\", 4) = 4",
	} {
		j.Write([]byte(l + "\n"))
	}
	j.Reset() // the serial loop's reset does not empty a journal
	lines, _, whole := j.forConn(8)
	var got []string
	for _, l := range lines {
		got = append(got, string(l[:strings.IndexByte(string(l), '(')]))
	}
	want := "epoll_pwait accept4 read read epoll_ctl epoll_pwait read"
	if strings.Join(got, " ") != want || !whole {
		t.Errorf("picked %v (whole %v), want %s", got, whole, want)
	}
	// Wrapped: the journal keeps the latest JournalLines, and says when the
	// visitor's accept4 is no longer among them.
	for i := 0; i < JournalLines; i++ {
		j.Write([]byte("read(8, \"x\", 1) = 1\n"))
	}
	if lines, more, whole := j.forConn(8); whole || len(lines) != StoryLines || more != JournalLines-StoryLines {
		t.Errorf("after wrapping: %d lines, %d more, whole %v", len(lines), more, whole)
	}
	if out := string(j.appendHTML(nil, 8)); !strings.Contains(out, "have left the journal") {
		t.Errorf("no word of the lost calls:\n%.300s", out)
	}
}
