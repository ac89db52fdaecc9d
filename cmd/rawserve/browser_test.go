package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The demo page, as a visitor sees it: headless Chromium (Debian's package)
// loads it from a loopback rawserve, and the rendered text must tell of
// this very connection's accept4 and read — in prose, and as the narrated
// calls themselves. A screenshot is saved for a
// person to look at. Skipped, with the reason, where Chromium is missing.
func TestPageInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (.ci/run installs Debian's chromium when it can)")
	}
	s := start(t, "-quiet")
	url := "http://" + s.addr + "/"
	shot := filepath.Join(os.TempDir(), "rawserve-page.png")
	// Flags: headless as root, and no background traffic — this machine
	// reaches no network, and Chromium should not try.
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	run := func(extra ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append(append(append([]string{}, base...), extra...), url)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", extra, err)
		}
		return string(out)
	}
	dom := run("--dump-dom")
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(dom, "")
	fd := regexp.MustCompile(`The last call returned fd (\d+)`).FindStringSubmatch(text)
	if fd == nil {
		t.Fatalf("the rendered page does not say which fd accept4 returned:\n%.2000s", text)
	}
	for _, want := range []string{"accept4", "called accept4(2)", "read(2) call(s) on fd " + fd[1], "GET / HTTP/1.1", "local port is",
		// The live narration of this connection, as strace would print it.
		"SOCK_CLOEXEC|SOCK_NONBLOCK) = " + fd[1], "read(" + fd[1] + `, "GET / HTTP/1.1\r\n`} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	run("--screenshot="+shot, "--window-size=1000,1400", "--hide-scrollbars")
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Errorf("screenshot %s: %v", shot, err)
	} else {
		t.Logf("screenshot: %s", shot)
	}
}
