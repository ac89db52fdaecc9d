package page

import (
	"regexp"
	"strings"
	"testing"
)

// Every link of the demo page and of every doc, as served in demo mode,
// leads somewhere this server answers: a doc that exists, and a section of
// it that has that id — so a classroom with no network can follow them all.
func TestDocsLinks(t *testing.T) {
	index, ctype, ok := Doc("/docs/")
	if !ok || ctype != "text/html; charset=utf-8" {
		t.Fatalf("no index of the docs: %v %q", ok, ctype)
	}
	story := new(Story) // a call of each kind the story explains, each with its "More" link
	for _, l := range []string{"accept4(5, ...) = -1 EAGAIN (Resource temporarily unavailable)", "accept4(5, ...) = 7",
		"ppoll([{fd=5, events=POLLIN}], 1, NULL, NULL, 0) = 1", "read(7, \"GET\", 20480) = 3", "read(7, \"\", 20480) = 0",
		"write(7, \"HTTP\", 4) = 4", "sendfile(7, 8, [0] => [1], 1) = 1"} {
		story.Write([]byte(l + "\n"))
	}
	pages := map[string]string{"/docs/": string(index), "the demo page": string(Append(nil, &Info{Story: story}))}
	for _, m := range regexp.MustCompile(`href="/docs/([a-z]+\.md)"`).FindAllStringSubmatch(string(index), -1) {
		b, _, ok := Doc("/docs/" + m[1])
		if !ok {
			t.Fatalf("the index links to %s, which is not served", m[1])
		}
		pages["/docs/"+m[1]] = string(b)
	}
	for _, want := range []string{"walkthrough.md", "models.md", "myths.md", "errno.md", "static.md"} {
		if _, ok := pages["/docs/"+want]; !ok {
			t.Errorf("the index lacks %s", want)
		}
	}
	href := regexp.MustCompile(`(?:href|src)="([^"]*)"`)
	checked := 0
	for from, body := range pages {
		for _, m := range href.FindAllStringSubmatch(body, -1) {
			target := m[1]
			switch {
			case strings.HasPrefix(target, "https://"), strings.HasPrefix(target, "http://"):
				continue
			case target == "/":
				continue // the demo page itself
			case strings.HasPrefix(target, "#"):
				target = from + target
			}
			file, frag, _ := strings.Cut(target, "#")
			b, _, ok := Doc(file)
			if !ok {
				t.Errorf("%s links to %s, which is not served", from, m[1])
				continue
			}
			if frag != "" && !strings.Contains(string(b), `id="`+frag+`"`) {
				t.Errorf("%s links to %s, which has no section %q", from, file, frag)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d links checked", checked)
	}
}

// The Markdown these docs use comes out as the HTML it means.
func TestRenderMarkdown(t *testing.T) {
	src := "# Title\n\nSome `a<b` and **bold** and *em*, a [link](models.md#the-epoll-model) and [code](../internal/sock).\n" +
		"<!-- transcript: x -->\n```\nread(5, \"<\", 1) = 1\n```\n\n- one\n  more\n- two\n\n1. first\n\n" +
		"| a | b \\| c |\n|---|---|\n| `x` | y |\n\n![A picture](diagrams/serial.svg)\n\n## “The net package” — simply retries\n"
	got := string(renderMarkdown("walkthrough.md", []byte(src)))
	for _, want := range []string{
		`<h1 id="title">Title</h1>`, "<code>a&lt;b</code>", "<strong>bold</strong>", "<em>em</em>",
		`<a href="/docs/models.md#the-epoll-model">link</a>`, " and code.",
		"<pre><code>read(5, &#34;&lt;&#34;, 1) = 1\n</code></pre>", "<ul><li>one more</li><li>two</li></ul>", "<ol><li>first</li></ol>",
		"<tr><th>a</th><th>b | c</th></tr>", "<tr><td><code>x</code></td><td>y</td></tr>",
		`<img src="/docs/diagrams/serial.svg" alt="A picture">`, `<h2 id="the-net-package--simply-retries">`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "transcript") {
		t.Errorf("a comment was drawn:\n%s", got)
	}
}

func TestDocNotFound(t *testing.T) {
	for _, p := range []string{"/docs/nope.md", "/docs/../README.md", "/docs/diagrams/serial.dot", "/doc/walkthrough.md", "/docs"} {
		if _, _, ok := Doc(p); ok {
			t.Errorf("%s is served", p)
		}
	}
	if _, ctype, ok := Doc("/docs/diagrams/epoll.svg"); !ok || ctype != "image/svg+xml" {
		t.Errorf("the epoll diagram: %v %q", ok, ctype)
	}
}
