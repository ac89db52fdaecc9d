package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// The calls that find and reopen a replaced -dir — newfstatat of the path,
// then openat, fstat, dup3 onto the root's descriptor and close — are
// narrated as strace shows them.
func TestTraceReplacedDirAgreesWithStrace(t *testing.T) {
	needStrace(t)
	site := filepath.Join(t.TempDir(), "site")
	os.Mkdir(site, 0o755)
	narration := filepath.Join(t.TempDir(), "trace.out")
	p, straceOut := underStrace(t, nil, "-trace", "-trace-file", narration, "-dir", site, "-addr", "127.0.0.1:0", "-quiet")
	os.RemoveAll(site)
	os.Mkdir(site, 0o755)
	os.WriteFile(filepath.Join(site, "new.txt"), []byte("new\n"), 0o644)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + p.Ready() + "/new.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /new.txt after the replacement: %d", resp.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	all := stopTraced(t, p, straceOut)
	if !strings.Contains(p.Stderr(), `-dir "`+site+`" was replaced`) {
		t.Errorf("no line about the replacement:\n%s", p.Stderr())
	}

	// The file calls only, of those TestTraceAgreesWithStrace compares.
	fileCalls := func(cs []strace.Call) []strace.Call {
		var kept []strace.Call
		for _, c := range cs {
			switch c.Name {
			case "openat", "openat2", "newfstatat", "fstat", "dup3", "close":
				kept = append(kept, c)
			}
		}
		return kept
	}
	seen, told := fileCalls(serverCalls(t, all, narration)), fileCalls(parseNarration(t, narration))
	dup3s := 0
	for i := range max(len(seen), len(told)) {
		var s, n string
		if i < len(seen) {
			s = seen[i].String()
		}
		if i < len(told) {
			n = told[i].String()
			if told[i].Name == "dup3" {
				dup3s++
			}
		}
		if s != n {
			t.Errorf("call %d:\nnarrated %s\nstrace   %s", i+1, n, s)
		}
	}
	if dup3s != 1 {
		t.Errorf("%d dup3 narrated, want 1:\n%s", dup3s, lines(told))
	}
}
