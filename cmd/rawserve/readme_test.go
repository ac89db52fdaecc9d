package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The shell blocks of the README (and examples/README.md) that a reader is
// meant to paste are marked in the Markdown source:
//
//	<!-- runnable -->               run as it is, from the repository root
//	<!-- runnable: beside make run --> run while `make run` serves on :8080
//	<!-- runnable: docker -->       needs a Docker engine
//	<!-- runnable: docker compose --> and its compose plugin
//	<!-- runnable: python -->       needs python3
//
// TestReadmeSnippets runs each in a fresh copy of the repository — the
// files git tracks, as a clone would have them — verbatim but for the port
// 8080, which it swaps for a free one so that parallel runs do not collide.
// A snippet that stopped working when pasted fails the test.

type snippet struct {
	doc, kind, text string
	line            int
}

var runnableMark = regexp.MustCompile(`^<!-- runnable(?:: (.+?))? -->$`)

// snippets returns the marked blocks of the Markdown file at path.
func snippets(t *testing.T, root, rel string) []snippet {
	t.Helper()
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []snippet
	sc := bufio.NewScanner(f)
	n, kind, marked, in := 0, "", false, false
	var body strings.Builder
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case in && l == "```":
			out = append(out, snippet{doc: rel, kind: kind, text: body.String(), line: n})
			in, marked = false, false
		case in:
			body.WriteString(l + "\n")
		case marked && strings.HasPrefix(l, "```"):
			in = true
			body.Reset()
		case runnableMark.MatchString(l):
			marked, kind = true, runnableMark.FindStringSubmatch(l)[1]
		}
	}
	return out
}

func TestReadmeSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the README's snippets build and run rawserve")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var all []snippet
	for _, doc := range []string{"README.md", "examples/README.md"} {
		all = append(all, snippets(t, root, doc)...)
	}
	if len(all) < 4 {
		t.Fatalf("%d runnable snippets marked in the READMEs; the markers must have been lost", len(all))
	}
	clone := freshCopy(t, root)
	for _, s := range all {
		t.Run(fmt.Sprintf("%s:%d", s.doc, s.line), func(t *testing.T) {
			port := freePort(t)
			text := strings.NewReplacer("127.0.0.1:8080", "127.0.0.1:"+port, "-p 8080:", "-p "+port+":").Replace(s.text)
			switch s.kind {
			case "":
			case "docker", "docker compose":
				if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
					t.Skipf("no Docker engine answers here (%v: %s): the image snippet needs one", err, bytes.TrimSpace(out))
				}
				if s.kind == "docker compose" {
					if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
						t.Skipf("docker compose is not installed (%v: %s)", err, bytes.TrimSpace(out))
					}
					t.Cleanup(func() {
						exec.Command("docker", "compose", "-f", filepath.Join(clone, "examples/compose.yaml"), "down").Run()
					})
				}
				t.Cleanup(func() { exec.Command("docker", "rm", "-f", "web").Run() })
			case "beside make run":
				makeRun(t, clone, port)
			case "python":
				if _, err := exec.LookPath("python3"); err != nil {
					t.Skip("python3 is not installed: the Python snippet needs it")
				}
			default:
				t.Fatalf("unknown kind of snippet %q", s.kind)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", text)
			cmd.Dir = clone
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n--- the snippet, as run:\n%s--- its output:\n%s", err, text, out)
			}
		})
	}
}

// freshCopy copies the files git tracks into a new directory: what a clone
// of this tree would hold, without build output or stray files.
func freshCopy(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v: the snippets run in a copy of what git tracks", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if err != nil {
			continue // deleted in the work tree, not yet in the index
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(src)
			os.Symlink(target, to)
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// freePort is a loopback port nobody listens on, for now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// makeRun starts `make run` on port in dir, in a process group of its own,
// waits until it answers, and stops the group when the test ends.
func makeRun(t *testing.T, dir, port string) {
	t.Helper()
	cmd := exec.Command("make", "run", "ARGS=-addr 127.0.0.1:"+port)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM) // make and the rawserve it started
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
	})
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if bytes.HasPrefix(b, []byte("HTTP/1.1 200")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run did not answer on %s within 2 minutes:\n%s", port, out.String())
		}
	}
}
