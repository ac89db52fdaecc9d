package static

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		`<a href="a.txt">a.txt</a>`,
		`<a href="sub/">sub/</a>`,
		`<a href="%3Cscript%3Ex.txt">&lt;script&gt;x.txt</a>`,
		`<a href="sp%20ace&amp;.txt">sp ace&amp;.txt</a>`,
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
