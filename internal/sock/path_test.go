package sock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ready file's temporary is created afresh under a name nobody can
// guess, never opened through a symlink someone planted: a planted
// ready.tmp (the name WriteFile once used) pointing at another file leaves
// that file alone, and nothing is left behind but the ready file.
func TestWriteFilePlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready")
	if err := os.Symlink(victim, ready+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(ready, []byte("127.0.0.1:8080\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	if b, _ := os.ReadFile(ready); string(b) != "127.0.0.1:8080\n" {
		t.Errorf("ready file holds %q", b)
	}
	fi, err := os.Lstat(ready)
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("ready is %v, %v; want a regular file", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "ready.tmp-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// A symlink planted as the ready file itself is replaced, not followed.
	os.Remove(ready)
	os.Symlink(victim, ready)
	if err := WriteFile(ready, []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("a symlink planted as the ready file was followed: %q", b)
	}
}
