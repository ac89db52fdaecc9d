package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSite is a site of one 4 KiB file with two versions, held in memory
// only: check needs no disk.
func testSite() (*site, *file) {
	s := &site{marker: []byte("SOAK-SECRET-test"), files: map[string]*file{}}
	s.add("/a.bin", 4096)
	f := s.files["/a.bin"]
	f.next("/a.bin")
	return s, f
}

func response(status int, body []byte, header map[string]string) *http.Response {
	r := &http.Response{StatusCode: status, Header: http.Header{}, ContentLength: int64(len(body))}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func TestCheckVersions(t *testing.T) {
	s, f := testSite()
	old, cur := f.versions[0].body, f.versions[1].body
	if len(old) == len(cur) || bytes.Equal(old[:16], cur[:16]) {
		t.Fatal("two versions of a file must differ in size and bytes")
	}
	now := time.Now()
	f.settle = now
	before := request{method: "GET", target: "/a.bin", start: now.Add(-time.Second)}
	after := request{method: "GET", target: "/a.bin", start: now.Add(time.Second)}

	for _, tc := range []struct {
		name string
		req  request
		resp *http.Response
		body []byte
		kind string // "" for no error
	}{
		{"old version before it settled", before, response(200, old, nil), old, ""},
		{"new version before it settled", before, response(200, cur, nil), cur, ""},
		{"new version after", after, response(200, cur, nil), cur, ""},
		{"old version after: stale", after, response(200, old, nil), old, "stale"},
		{"a byte wrong", after, response(200, flip(cur), nil), flip(cur), "mismatch"},
		{"cut short", after, response(200, cur[:100], nil), cur[:100], "mismatch"},
		{"404 outside a gap: lost", before, response(404, nil, nil), nil, "lost"},
		{"500", after, response(500, nil, nil), nil, "status"},
		{"the secret", after, response(200, []byte("x SOAK-SECRET-test"), nil), []byte("x SOAK-SECRET-test"), "secret"},
		{"HEAD with the new size", request{method: "HEAD", target: "/a.bin", start: after.start}, response(200, cur, nil), nil, ""},
		{"HEAD with the old size after", request{method: "HEAD", target: "/a.bin", start: after.start}, response(200, old, nil), nil, "stale"},
	} {
		err := s.check("/a.bin", tc.req, tc.resp, tc.body)
		if got := kindIf(err); got != tc.kind {
			t.Errorf("%s: got %q (%v), want %q", tc.name, got, err, tc.kind)
		}
	}

	f.gapUntil = now
	if err := s.check("/a.bin", before, response(404, nil, nil), nil); err != nil {
		t.Errorf("404 while the directory was being replaced: %v", err)
	}
	if err := s.check("/a.bin", after, response(404, nil, nil), nil); kindIf(err) != "lost" {
		t.Errorf("404 after the directory was replaced: got %v, want lost", err)
	}
}

func TestCheckRanges(t *testing.T) {
	s, f := testSite()
	cur := f.newest().body
	req := request{method: "GET", target: "/a.bin", rng: "bytes=10-19", start: time.Now()}
	one := response(206, cur[10:20], map[string]string{"Content-Range": fmt.Sprintf("bytes 10-19/%d", len(cur))})
	if err := s.check("/a.bin", req, one, cur[10:20]); err != nil {
		t.Errorf("the right range: %v", err)
	}
	if err := s.check("/a.bin", req, one, cur[11:21]); kindIf(err) != "mismatch" {
		t.Errorf("bytes one off: got %v, want mismatch", err)
	}
	wrongTotal := response(206, cur[10:20], map[string]string{"Content-Range": "bytes 10-19/99"})
	if err := s.check("/a.bin", req, wrongTotal, cur[10:20]); kindIf(err) != "mismatch" {
		t.Errorf("a total of no version: got %v, want mismatch", err)
	}

	suffix := request{method: "GET", target: "/a.bin", rng: "bytes=0-1,-5", start: time.Now()}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range [][2]int{{0, 1}, {len(cur) - 5, len(cur) - 1}} {
		w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Range": {fmt.Sprintf("bytes %d-%d/%d", p[0], p[1], len(cur))}})
		w.Write(cur[p[0] : p[1]+1])
	}
	mw.Close()
	multi := response(206, body.Bytes(), map[string]string{"Content-Type": "multipart/byteranges; boundary=" + mw.Boundary()})
	if err := s.check("/a.bin", suffix, multi, body.Bytes()); err != nil {
		t.Errorf("two parts, the second a suffix: %v", err)
	}
	reversed := request{method: "GET", target: "/a.bin", rng: "bytes=-5,0-1", start: time.Now()}
	if err := s.check("/a.bin", reversed, multi, body.Bytes()); kindIf(err) != "mismatch" {
		t.Errorf("parts in another order than asked: got %v, want mismatch", err)
	}
}

func TestResolveRanges(t *testing.T) {
	for _, tc := range []struct {
		rng  string
		size int
		want string
	}{
		{"bytes=0-0", 1, "[[0 0]]"},
		{"bytes=5-", 10, "[[5 9]]"},
		{"bytes=-3", 10, "[[7 9]]"},
		{"bytes=-30", 10, "[[0 9]]"},
		{"bytes=2-100", 10, "[[2 9]]"},
		{"bytes=0-1,4-5", 10, "[[0 1] [4 5]]"},
	} {
		if got := fmt.Sprint(resolveRanges(tc.rng, tc.size)); got != tc.want {
			t.Errorf("resolveRanges(%q, %d) = %s, want %s", tc.rng, tc.size, got, tc.want)
		}
	}
}

func TestFdsBackTo(t *testing.T) {
	base := fdCount{"socket": 1, "pipe": 2, "anon_inode:[eventpoll]": 1}
	for _, tc := range []struct {
		now        fdCount
		ok, poller bool
	}{
		{fdCount{"socket": 1, "pipe": 2, "anon_inode:[eventpoll]": 1}, true, false},
		{fdCount{"pipe": 2, "anon_inode:[eventpoll]": 1}, true, false},
		{fdCount{"socket": 2, "pipe": 2, "anon_inode:[eventpoll]": 1}, false, false},
		{fdCount{"socket": 1, "pipe": 2, "anon_inode:[eventpoll]": 2, "anon_inode:[eventfd]": 1}, true, true},
		{fdCount{"socket": 1, "pipe": 2, "anon_inode:[eventpoll]": 3, "anon_inode:[eventfd]": 1}, false, false},
		{fdCount{"socket": 2, "pipe": 2, "anon_inode:[eventpoll]": 2, "anon_inode:[eventfd]": 1}, false, false},
		{nil, false, false},
	} {
		if ok, poller := tc.now.backTo(base); ok != tc.ok || poller != tc.poller {
			t.Errorf("%v back to %v: got %v, %v; want %v, %v", tc.now, base, ok, poller, tc.ok, tc.poller)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "intro\n" + beginMarker + "\nold table\n" + endMarker + "\nafter\n"
	got := string(replaceSection([]byte(doc), "new table\n"))
	want := "intro\n" + beginMarker + "\nnew table\n" + endMarker + "\nafter\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := string(replaceSection([]byte("no markers"), "table\n")); got != "table\n" {
		t.Errorf("without markers: got %q, want the table alone", got)
	}
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)/2] ^= 1
	return c
}

func kindIf(err error) string {
	if err == nil {
		return ""
	}
	return kindOf(err)
}

// The short soak docs/reliability.md shows runs as pasted, from the
// repository root, and passes.
func TestDocCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the documented soak builds rawserve and runs for a minute")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "reliability.md"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.Contains(l, "go run ./cmd/soak ") {
			line = l
		}
	}
	if line == "" {
		t.Fatal("docs/reliability.md shows no go run ./cmd/soak command")
	}
	// The two make lines above it run for minutes: each must at least
	// reach the soak with the duration it says.
	for target, want := range map[string]string{"soak": "-duration 5m", "soak SOAKTIME=30s": "-duration 30s"} {
		if !strings.Contains(string(doc), "make "+target+" ") {
			t.Errorf("docs/reliability.md no longer shows make %s", target)
		}
		cmd := exec.Command("make", append([]string{"-n"}, strings.Fields(target)...)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "go run ./cmd/soak") || !strings.Contains(string(out), want) {
			t.Errorf("make -n %s: %v\n%s", target, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", line)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Every check passed.") {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
}
