package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// docs/exercises.md is a page of exercises, each a section
//
//	## N. Title
//	**Needs:** `curl`, `ss`.             the tools it runs, besides bash and coreutils
//	<!-- runnable -->                    its one block, pasted from the repository root
//	```sh … ```
//	**Expected:**
//	- `REGEXP` — why                     each matches a line of the block's output
//
// TestExercises runs every block in a fresh copy of the repository, as
// TestReadmeSnippets runs the README's, with bin/rawserve already built, and
// checks that each pattern matches a line of what it printed, stdout and
// stderr together — as `grep -E` would. An exercise whose tool is missing, or
// not permitted (strace without ptrace, tcpdump without CAP_NET_RAW), is
// skipped, and the skip names the tool.

type exercise struct {
	title  string
	line   int      // of its heading
	needs  []string // tools, as named in backquotes on its Needs line
	block  string
	expect []*regexp.Regexp
}

var (
	exerciseHeading = regexp.MustCompile(`^## ([0-9]+\. .+)$`)
	needsLine       = regexp.MustCompile(`^\*\*Needs:\*\*(.*)$`)
	expectItem      = regexp.MustCompile("^- `([^`]+)`")
	backquoted      = regexp.MustCompile("`([^`]+)`")
)

// exercises parses the page at rel: its sections, each with the runnable
// block snippets finds in it.
func exercises(t *testing.T, root, rel string) []exercise {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []exercise
	var cur *exercise
	inExpected := false
	for i, l := range strings.Split(string(page), "\n") {
		n := i + 1
		switch {
		case strings.HasPrefix(l, "## "):
			inExpected = false
			cur = nil
			if m := exerciseHeading.FindStringSubmatch(l); m != nil {
				out = append(out, exercise{title: m[1], line: n})
				cur = &out[len(out)-1]
			}
		case cur == nil:
		case needsLine.MatchString(l):
			for _, tool := range backquoted.FindAllStringSubmatch(needsLine.FindStringSubmatch(l)[1], -1) {
				cur.needs = append(cur.needs, tool[1])
			}
		case strings.HasPrefix(l, "**Expected:**"):
			inExpected = true
		case inExpected && expectItem.MatchString(l):
			re, err := regexp.Compile(expectItem.FindStringSubmatch(l)[1])
			if err != nil {
				t.Fatalf("%s:%d: %v", rel, n, err)
			}
			cur.expect = append(cur.expect, re)
		case inExpected && l != "":
			inExpected = false
		}
	}
	// Each exercise's block is the runnable one between its heading and the next.
	blocks := snippets(t, root, rel)
	for i := range out {
		end := int(^uint(0) >> 1)
		if i+1 < len(out) {
			end = out[i+1].line
		}
		for _, s := range blocks {
			if s.line > out[i].line && s.line < end {
				if out[i].block != "" {
					t.Fatalf("%s:%d: exercise %q has more than one runnable block", rel, s.line, out[i].title)
				}
				out[i].block = s.text
			}
		}
		if out[i].block == "" || len(out[i].expect) == 0 {
			t.Fatalf("%s:%d: exercise %q needs one runnable block and an Expected list", rel, out[i].line, out[i].title)
		}
	}
	return out
}

// unusable says why tool cannot run here, or "" if it can.
func unusable(tool string) string {
	if _, err := exec.LookPath(tool); err != nil {
		return tool + " is not installed"
	}
	switch tool {
	case "strace":
		if err := strace.Available(); err != nil {
			return err.Error()
		}
	case "tcpdump":
		// Capturing needs CAP_NET_RAW: without it tcpdump fails at once;
		// with it, it listens until the context ends.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		out, err := exec.CommandContext(ctx, "tcpdump", "-i", "lo", "-c", "1", "-w", "/dev/null", "tcp port 9").CombinedOutput()
		if err != nil && ctx.Err() == nil {
			return "tcpdump cannot capture on lo here (it needs CAP_NET_RAW): " + strings.TrimSpace(string(out))
		}
	}
	return ""
}

func TestExercises(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the exercises run rawserve and clients for a few seconds each")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	const page = "docs/exercises.md"
	all := exercises(t, root, page)
	if len(all) < 8 {
		t.Fatalf("%s: %d exercises found; the page promises at least 8", page, len(all))
	}
	clone := freshCopy(t, root)
	// The page says to run make build first; the binary TestMain built is
	// the same program.
	b, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(clone, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "bin/rawserve"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		t.Run(e.title, func(t *testing.T) {
			t.Parallel()
			for _, tool := range e.needs {
				if why := unusable(tool); why != "" {
					t.Skip(why)
				}
			}
			out, err := runExercise(t, clone, e.block)
			if err != nil {
				t.Errorf("%s:%d: the block failed: %v", page, e.line, err)
			}
			lines := strings.Split(out, "\n")
			for _, re := range e.expect {
				if !anyMatch(re, lines) {
					t.Errorf("%s:%d: no line of the output matches `%s`", page, e.line, re)
				}
			}
			if t.Failed() {
				t.Logf("--- the block:\n%s--- its output:\n%s", e.block, out)
			}
		})
	}
}

func anyMatch(re *regexp.Regexp, lines []string) bool {
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// runExercise runs block with bash -e in dir, in a process group of its own,
// for at most a minute, and returns what it printed. Whatever the block left
// running — a rawserve it did not stop because a command failed first — is
// killed with the group.
func runExercise(t *testing.T, dir, block string) (string, error) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "output")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", block)
	cmd.Dir = dir
	// The block's scratch directories (mktemp) go where the test removes them.
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	// A file, not a pipe: a process left behind holding the output open
	// must not keep Wait waiting.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if ctx.Err() != nil {
		runErr = ctx.Err()
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b), runErr
}
