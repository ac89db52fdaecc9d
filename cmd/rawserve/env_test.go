package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
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
		{[]string{"RAWSERVE_MODEL=epoll", "RAWSERVE_LOOPS=-1"}, nil, 2, `rawserve: RAWSERVE_LOOPS="-1" must be 0 (one per CPU) to 1024`},
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

// Every numeric setting is checked against its range, given as a flag or as
// its variable: below it, above it, and past what the kernel's int would
// hold (-backlog 4294967296 once became listen(fd, 0)). Each is a usage
// error, exit 2, that names the setting and its range; nothing starts.
func TestNumericRanges(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
		epoll             bool
	}{
		{"backlog", "-1", "must be 0 (the kernel's maximum) to 2147483647", false},
		{"backlog", "4294967296", "must be 0 (the kernel's maximum) to 2147483647", false},
		{"loops", "-1", "must be 0 (one per CPU) to 1024", true},
		{"loops", "1025", "must be 0 (one per CPU) to 1024", true},
		{"loops", "4294967298", "must be 0 (one per CPU) to 1024", true},
		{"max-conns", "-5", "must be 0 (no limit) to 2147483647", true},
		{"max-conns", "2147483648", "must be 0 (no limit) to 2147483647", true},
		{"header-timeout", "0s", "must be positive, at most 8760h (a year)", false},
		{"header-timeout", "8761h", "must be positive, at most 8760h (a year)", false},
		{"idle-timeout", "-1s", "must be positive, at most 8760h (a year)", false},
		{"idle-timeout", "100000h", "must be positive, at most 8760h (a year)", false},
		{"write-timeout", "0s", "must be positive, at most 8760h (a year)", false},
		{"write-timeout", "9000h", "must be positive, at most 8760h (a year)", false},
		{"grace", "0s", "must be positive, at most 8760h (a year)", true},
		{"grace", "9000h", "must be positive, at most 8760h (a year)", true},
		{"yield-after", "-1ms", "must be 0 (never give way) or positive, at most 8760h (a year)", false},
		{"yield-after", "9000h", "must be 0 (never give way) or positive, at most 8760h (a year)", false},
		{"file-cache-trust", "-1s", "must be 0 (check every time) or positive, at most 8760h (a year)", false},
		{"file-cache-trust", "9000h", "must be 0 (check every time) or positive, at most 8760h (a year)", false},
	} {
		variable := "RAWSERVE_" + strings.ToUpper(strings.ReplaceAll(tc.name, "-", "_"))
		base := []string{"-addr", "127.0.0.1:0", "-dir", "."}
		if tc.epoll {
			base = append(base, "-model", "epoll")
		}
		for _, asFlag := range []bool{true, false} {
			args, env, who := base, []string(nil), "-"+tc.name
			if asFlag {
				args = append(append([]string(nil), base...), "-"+tc.name, tc.value)
			} else {
				env = []string{variable + "=" + tc.value}
				who = variable + "=" + strconv.Quote(tc.value)
			}
			cmd := exec.Command(binary, args...)
			cmd.Env = append(os.Environ(), env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("%s %s: %v, want exit 2 (stderr %q)", who, tc.value, err, stderr.String())
				continue
			}
			want := "rawserve: " + who + " " + tc.want + ", not "
			if !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("%s %s: stderr %q, want it to start %q", who, tc.value, stderr.String(), want)
			}
		}
	}
}
