package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// -dir / (by any name) is a usage error naming the flag that allows it;
// with the flag, or its variable, the whole file system is served.
func TestSystemRoot(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
	}{
		{[]string{"-dir", "/"}, ""},
		{[]string{"-dir", "/tmp/.."}, ""},
		{nil, "RAWSERVE_DIR=//"},
		{[]string{"-dir", "/", "-allow-system-root=false"}, "RAWSERVE_ALLOW_SYSTEM_ROOT=true"},
	} {
		cmd := exec.Command(binary, append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
		cmd.Env = append(os.Environ(), tc.env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "names /, the whole file system") ||
			!strings.Contains(stderr.String(), "refused without -allow-system-root") {
			t.Errorf("%v %s: %v, stderr %q; want exit 2 naming -allow-system-root", tc.args, tc.env, err, stderr.String())
		}
	}

	file := filepath.Join(t.TempDir(), "served.txt")
	os.WriteFile(file, []byte("from the whole file system\n"), 0o644)
	for _, s := range []*server{
		start(t, "-dir", "/", "-allow-system-root", "-quiet"),
		runServerEnv(t, []string{"RAWSERVE_ALLOW_SYSTEM_ROOT=true", "RAWSERVE_DIR=/"}, binary, "-addr", "127.0.0.1:0", "-quiet"),
	} {
		if code, body := s.get(t, file); code != 200 || body != "from the whole file system\n" {
			t.Errorf("GET %s from /: %d %q", file, code, body)
		}
	}
}

// Run as root, the first file served that not everyone may read brings a
// warning, once: root reads any file, so permissions keep nothing from
// being served. Files anyone may read bring none, nor does anything as
// another user.
func TestRootServesPrivateFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "public.txt"), []byte("public\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "id_ed25519"), []byte("private\n"), 0o600)
	s := start(t, "-dir", dir, "-quiet")
	warning := `rawserve: warning: running as root, which may read any file: served "/id_ed25519" (mode 0600)`
	if code, _ := s.get(t, "/public.txt"); code != 200 || strings.Contains(s.stderr.String(), "warning") {
		t.Errorf("a file anyone may read: %d\n%s", code, s.stderr)
	}
	s.get(t, "/id_ed25519")
	s.get(t, "/id_ed25519")
	deadline := time.Now().Add(2 * time.Second)
	for os.Geteuid() == 0 && !strings.Contains(s.stderr.String(), warning) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Count(s.stderr.String(), warning); got != map[bool]int{true: 1}[os.Geteuid() == 0] {
		t.Errorf("euid %d: %d warnings in\n%s", os.Geteuid(), got, s.stderr)
	}
}

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
	narrated, _ := parseNarration(t, narration)
	seen, told := fileCalls(serverCalls(t, all, narration)), fileCalls(narrated)
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
