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
	if out := string(s.appendHTML(nil)); !strings.Contains(out, "… and 7 more calls") {
		t.Errorf("a long story should say how much it left out:\n%.300s", out)
	}
	s.Reset()
	if out := string(s.appendHTML(nil)); strings.Contains(out, "<li>") {
		t.Errorf("Reset kept lines: %s", out)
	}
}
