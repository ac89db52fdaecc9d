package serve_test

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// hostileNames are file names chosen to turn a listing's links into
// something else: a script, another host, another file, a broken attribute.
var hostileNames = []string{
	"javascript:alert(document.domain)",
	"JavaScript:alert(1)",
	"data:text;html,<script>alert(1)<",
	"vbscript:x",
	"host:80",
	"x:",
	"@evil.example",
	`\\evil.example`, // left out: no request can name a backslash (400)
	`"><img src=x onerror=alert(1)>`,
	"it's",
	"a&amp;b",
	"<b>bold",
	"hash#frag",
	"q?x=1",
	"%2e%2e",
	"%00",
	"%2F",
	"sp ace",
	"tab\there",
	"new\nline",
	"ctl\x01\x1b\x7f",
	"latin1-\xe9\xff",
	"ünïcödé ✓",
	"~tilde",
	";..",
}

// anchor is one link of a listing: <a href="...">text</a>, the only markup
// a listing puts in its list.
var anchor = regexp.MustCompile(`<a href="([^"]*)">([^<]*)</a>`)

// -list with hostile file names: every link is a relative path that no
// browser reads as a scheme or a host, resolves against the listing's URL
// to a path right below its directory naming exactly that entry, and
// fetching it serves that file.
func TestListingLinks(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		root := t.TempDir()
		dir := filepath.Join(root, "dir")
		os.Mkdir(dir, 0o755)
		bodies := map[string]string{} // name (a directory's with "/") -> what GET gives
		for i, n := range hostileNames {
			body := fmt.Sprintf("file %d\n", i)
			if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
				t.Fatalf("%q: %v", n, err)
			}
			if !strings.Contains(n, `\`) {
				bodies[n] = body
			}
		}
		// A directory named like a scheme, with an index.
		os.Mkdir(filepath.Join(dir, "javascript:"), 0o755)
		os.WriteFile(filepath.Join(dir, "javascript:", "index.html"), []byte("sub index"), 0o644)
		bodies["javascript:/"] = "sub index"

		d := openDir(t, root)
		d.List = true
		ts := m.start(t, settings{Dir: d})
		c := ts.dial(t)
		resp, page, err := c.fetch(get("/dir/"), "GET")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("listing: %v %v", resp, err)
		}
		base, _ := url.Parse("http://rawserve.test/dir/")
		links := anchor.FindAllStringSubmatch(page, -1)
		if len(links) != len(bodies)+1 { // and ../
			t.Errorf("%d links for %d entries (and ../):\n%s", len(links), len(bodies), page)
		}
		if strings.Count(page, "<a ") != len(links) || strings.Contains(page, "<img") || strings.Contains(page, "<b>") ||
			strings.Contains(page, "<script") {
			t.Errorf("markup from a name made it into the page:\n%s", page)
		}
		seen := map[string]bool{}
		for _, l := range links {
			href, text := html.UnescapeString(l[1]), html.UnescapeString(l[2])
			if href == "../" {
				continue
			}
			if !strings.HasPrefix(href, "./") || strings.ContainsFunc(href, func(r rune) bool {
				return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%/", r)
			}) {
				t.Errorf("href %q: not ./ and percent-encoded", href)
				continue
			}
			u, err := url.Parse(href)
			if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				t.Errorf("href %q parses as %#v, %v", href, u, err)
				continue
			}
			ref := base.ResolveReference(u)
			name, ok := strings.CutPrefix(ref.Path, "/dir/")
			want, known := bodies[name]
			if ref.Host != base.Host || !ok || !known || seen[name] {
				t.Errorf("href %q resolves to %q: no entry, or one already linked", href, ref)
				continue
			}
			seen[name] = true
			if !strings.ContainsAny(name, "\x00\x01\x1b\x7f\t\n\xe9\xff") && text != name {
				t.Errorf("link to %q reads %q", name, text)
			}
			resp, body, err := c.fetch(get(ref.EscapedPath()), "GET")
			if err != nil {
				t.Fatalf("GET %s: %v", ref.EscapedPath(), err)
			}
			if resp.StatusCode != 200 || body != want {
				t.Errorf("GET %s for %q: %d %q, want %q", ref.EscapedPath(), name, resp.StatusCode, body, want)
			}
			if resp.Close {
				c = ts.dial(t)
			}
		}
		if len(seen) != len(bodies) {
			t.Errorf("%d of %d entries linked", len(seen), len(bodies))
		}
	})
}
