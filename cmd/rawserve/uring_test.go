package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Where io_uring is refused — here by a seccomp filter like Docker's
// default profile (testdata/noring), answering EPERM, or ENOSYS as some
// profiles and old kernels do — -model uring does not start: exit 1 and
// one line on stderr, before anything listens, that names the call, the
// errno, the cause and the remedy. It never falls back to another model.
func TestUringRefused(t *testing.T) {
	noring := filepath.Join(t.TempDir(), "noring")
	if out, err := exec.Command("go", "build", "-o", noring, "./testdata/noring").CombinedOutput(); err != nil {
		t.Fatalf("building testdata/noring: %v\n%s", err, out)
	}
	for _, tc := range []struct{ errno, want string }{
		{"EPERM", "rawserve: -model uring: io_uring_setup: operation not permitted — a seccomp filter refuses io_uring (Docker's default profile does since Docker 25, moby/moby#46762): use -model epoll, or run with a profile that allows io_uring_setup, io_uring_enter and io_uring_register\n"},
		{"ENOSYS", "rawserve: -model uring: io_uring_setup: function not implemented — this kernel has no io_uring (Linux 5.1 and later, built with CONFIG_IO_URING), or a seccomp filter answers ENOSYS for it: use -model epoll\n"},
	} {
		cmd := exec.Command(noring, tc.errno, binary, "-model", "uring", "-addr", "127.0.0.1:0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if strings.HasPrefix(stderr.String(), "noring: ") {
			t.Skipf("cannot install a seccomp filter here: %s", stderr.String())
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit status 1", tc.errno, err)
		}
		if got := stderr.String(); got != tc.want {
			t.Errorf("%s: stderr\n%q\nwant\n%q", tc.errno, got, tc.want)
		}
	}
}
