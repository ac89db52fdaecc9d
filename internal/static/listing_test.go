package static

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rawserve/rawserve/internal/sock"
)

func TestListing(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a.txt", ".hidden", "<script>x.txt", "sp ace&.txt"} {
		os.WriteFile(filepath.Join(root, n), []byte("x"), 0o644)
	}
	os.Mkdir(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "sub", "b.txt"), []byte("x"), 0o644)
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if r := d.Lookup([]byte("/")); r.Status != 403 {
		t.Fatalf("without List: %d, want 403", r.Status)
	}
	d.List = true
	r := d.Lookup([]byte("/"))
	body := string(r.Body)
	if r.Status != 200 || r.File != nil || !strings.HasPrefix(r.ContentType, "text/html") {
		t.Fatalf("listing: %d %q", r.Status, r.ContentType)
	}
	for _, want := range []string{
		`<a href="./a.txt">a.txt</a>`,
		`<a href="./sub/">sub/</a>`,
		`<a href="./%3Cscript%3Ex.txt">&lt;script&gt;x.txt</a>`,
		`<a href="./sp%20ace%26.txt">sp ace&amp;.txt</a>`,
		"<title>Index of /</title>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "hidden") || strings.Contains(body, "<script>") || strings.Contains(body, `href="../"`) {
		t.Errorf("listing shows a hidden entry, raw markup, or a way above the root:\n%s", body)
	}
	if r := d.Lookup([]byte("/sub/")); r.Status != 200 || !strings.Contains(string(r.Body), `<a href="../">../</a>`) ||
		!strings.Contains(string(r.Body), "b.txt") {
		t.Errorf("/sub/ listing: %d\n%s", r.Status, r.Body)
	}
	if r := d.Lookup([]byte("/a.txt/")); r.Status != 404 {
		t.Errorf("a file asked as a directory: %d, want 404", r.Status)
	}
	if r := d.Lookup([]byte("/missing/")); r.Status != 404 {
		t.Errorf("a missing directory: %d, want 404", r.Status)
	}
}

// A listing shows at most MaxListed entries, and reads no more of the
// directory than it needs to know there are more: getdents64 is called a
// few times, not the eight reading all 3,000 would take.
func TestListingCap(t *testing.T) {
	root := t.TempDir()
	for i := range 3000 {
		os.WriteFile(filepath.Join(root, fmt.Sprintf("file-%04d.txt", i)), nil, 0o644)
	}
	os.Mkdir(filepath.Join(root, "exact"), 0o755)
	for i := range MaxListed {
		os.WriteFile(filepath.Join(root, "exact", fmt.Sprintf("f%d", i)), nil, 0o644)
	}
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.List = true
	var trace bytes.Buffer
	sock.SetTrace(&trace, false)
	r := d.Lookup([]byte("/"))
	sock.SetTrace(nil, false)
	body := string(r.Body)
	if n := strings.Count(body, `<li><a href="./file-`); r.Status != 200 || n != MaxListed || !strings.Contains(body, "… and more") {
		t.Errorf("%d: %d entries listed, want %d and a line saying there are more", r.Status, n, MaxListed)
	}
	// 16 KiB holds about 400 of these records: 3 calls reach the 1001st.
	if n := strings.Count(trace.String(), "getdents64("); n > 4 {
		t.Errorf("%d getdents64 calls for %d entries", n, MaxListed+1)
	}
	r = d.Lookup([]byte("/exact/"))
	if n := strings.Count(string(r.Body), `<li><a href="./f`); n != MaxListed || strings.Contains(string(r.Body), "and more") {
		t.Errorf("a directory of exactly %d: %d listed\n%.200s", MaxListed, n, r.Body)
	}
}

// Names that are not UTF-8, or hold control characters, are shown as
// U+FFFD, so the page stays UTF-8; names with a backslash, which no request
// can name, are left out.
func TestListingOddNames(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"bad\xff\xfe.txt", "ctl\x01\x1b[31m.txt", `back\slash`, "ok ✓.txt"} {
		if err := os.WriteFile(filepath.Join(root, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.List = true
	body := string(d.Lookup([]byte("/")).Body)
	for _, want := range []string{
		`<a href="./bad%FF%FE.txt">bad��.txt</a>`,
		`<a href="./ctl%01%1B%5B31m.txt">ctl��[31m.txt</a>`,
		`<a href="./ok%20%E2%9C%93.txt">ok ✓.txt</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("listing lacks %s:\n%s", want, body)
		}
	}
	if !utf8.ValidString(body) || strings.Contains(body, "slash") {
		t.Errorf("not UTF-8, or lists a name with a backslash:\n%q", body)
	}
}

// BenchmarkListing20000 lists a directory of 20,000 files: the loop time a
// listing takes. Before MaxListed: 16 ms (1.36 MB); after, 0.5 ms (70 KB).
func BenchmarkListing20000(b *testing.B) {
	root := b.TempDir()
	for i := range 20000 {
		os.WriteFile(filepath.Join(root, fmt.Sprintf("file-%05d-some-name.txt", i*7919%20000)), nil, 0o644)
	}
	d, err := Open(root)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	d.List = true
	var size int
	for b.Loop() {
		size = len(d.Lookup([]byte("/")).Body)
	}
	b.ReportMetric(float64(size), "page-bytes")
}
