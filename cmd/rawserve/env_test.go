package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A bad value from the environment is named by its variable — the user
// set RAWSERVE_ADDR, not -addr — and a path that cannot be opened is named
// too. The same value on the command line is named by its flag.
func TestBadSettingNamed(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		msg  string
	}{
		{[]string{"RAWSERVE_ADDR=nonsense"}, nil, 2, `rawserve: RAWSERVE_ADDR="nonsense": address "nonsense": missing port`},
		{nil, []string{"-addr", "nonsense"}, 2, `rawserve: -addr: address "nonsense": missing port`},
		{[]string{"RAWSERVE_ADDR=nonsense"}, []string{"-addr", "127.0.0.1:0", "-dir", "/nonexistent"}, 1, `rawserve: -dir "/nonexistent": open: no such file or directory`},
		{[]string{"RAWSERVE_DIR=/nonexistent"}, []string{"-addr", "127.0.0.1:0"}, 1, `rawserve: RAWSERVE_DIR="/nonexistent": open: no such file or directory`},
		{[]string{"RAWSERVE_MODEL=threads"}, nil, 2, `rawserve: RAWSERVE_MODEL="threads": unknown model "threads"`},
		{[]string{"RAWSERVE_HEADER_TIMEOUT=0s"}, nil, 2, `rawserve: RAWSERVE_HEADER_TIMEOUT="0s" must be positive`},
		{[]string{"RAWSERVE_HEADER_TIMEOUT=soon"}, nil, 2, `rawserve: RAWSERVE_HEADER_TIMEOUT="soon": parse error`},
		{[]string{"RAWSERVE_MODEL=epoll", "RAWSERVE_LOOPS=-1"}, nil, 2, `rawserve: RAWSERVE_LOOPS="-1" must be 0 (one per CPU) or positive`},
	} {
		cmd := exec.Command(binary, tc.args...)
		cmd.Env = append(os.Environ(), tc.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
			t.Errorf("%v %v: %v, want exit %d (stderr %q)", tc.env, tc.args, err, tc.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v %v: stderr %q, want %q", tc.env, tc.args, stderr.String(), tc.msg)
		}
	}
}

// -h lists each setting's variable, and no variable that is not read:
// -version is a command, not a setting.
func TestHelpListsVariables(t *testing.T) {
	out, err := exec.Command(binary, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v", err)
	}
	if bytes.Contains(out, []byte("RAWSERVE_VERSION")) {
		t.Error("-h lists $RAWSERVE_VERSION, which is never read")
	}
	for _, v := range []string{"RAWSERVE_ADDR", "RAWSERVE_DIR", "RAWSERVE_MODEL", "RAWSERVE_YIELD_AFTER"} {
		if !bytes.Contains(out, []byte("$"+v)) {
			t.Errorf("-h does not list $%s", v)
		}
	}
}
