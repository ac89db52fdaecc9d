package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// probeEnv clears the variables the probe reads, so that the caller's
// environment cannot choose its URL.
func probeEnv(t *testing.T) {
	t.Setenv("RAWSERVE_PROBE_URL", "")
	t.Setenv("RAWSERVE_ADDR", "")
}

// probeRun runs the subcommand and returns its exit status and output.
func probeRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runProbe(args, &out, &errb)
	return code, out.String(), errb.String()
}

// healthServer is a net/http server on 127.0.0.1 whose /healthz answers
// status, and every other path 404.
func healthServer(t *testing.T, status int) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.UserAgent() != "rawserve-probe" || !r.Close {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s.URL // http://127.0.0.1:PORT
}

func TestProbeHealthy(t *testing.T) {
	probeEnv(t)
	url := healthServer(t, http.StatusOK) + "/healthz"
	if code, out, errs := probeRun(t, url); code != 0 || out != "" || errs != "" {
		t.Errorf("probe %s: exit %d, stdout %q, stderr %q; want 0 and silence", url, code, out, errs)
	}
	if code, out, errs := probeRun(t, "-v", "-timeout", "5s", url); code != 0 || out != "GET "+url+": 200 OK\n" || errs != "" {
		t.Errorf("probe -v %s: exit %d, stdout %q, stderr %q", url, code, out, errs)
	}
}

func TestProbeUnhealthy(t *testing.T) {
	probeEnv(t)
	base := healthServer(t, http.StatusServiceUnavailable)
	for _, tc := range []struct{ url, want string }{
		{base + "/healthz", "rawserve probe: GET " + base + "/healthz: 503 Service Unavailable\n"},
		{base + "/nope", "rawserve probe: GET " + base + "/nope: 404 Not Found\n"},
	} {
		if code, out, errs := probeRun(t, tc.url); code != 1 || out != "" || errs != tc.want {
			t.Errorf("probe %s: exit %d, stdout %q, stderr %q; want 1, %q", tc.url, code, out, errs, tc.want)
		}
	}
}

func TestProbeRefused(t *testing.T) {
	probeEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/healthz"
	l.Close()
	want := "rawserve probe: GET " + url + ": connect: connection refused\n"
	if code, _, errs := probeRun(t, url); code != 1 || errs != want {
		t.Errorf("probe %s: exit %d, stderr %q; want 1, %q", url, code, errs, want)
	}
}

// A server that accepts (the kernel completes the handshake) and never
// answers: the probe gives up at its timeout.
func TestProbeSilentServer(t *testing.T) {
	probeEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	url := "http://" + l.Addr().String() + "/healthz"
	start := time.Now()
	code, _, errs := probeRun(t, "-timeout", "300ms", url)
	took := time.Since(start)
	want := "rawserve probe: GET " + url + ": timed out after 300ms waiting for the status line\n"
	if code != 1 || errs != want {
		t.Errorf("probe: exit %d, stderr %q; want 1, %q", code, errs, want)
	}
	if took < 300*time.Millisecond || took > 1300*time.Millisecond {
		t.Errorf("probe took %v; want about 300ms", took)
	}
}

func TestProbeBadUsage(t *testing.T) {
	probeEnv(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"https://127.0.0.1:8443/healthz"}, "https is not supported"},
		{[]string{"http:///healthz"}, "missing host"},
		{[]string{"http://"}, "missing host"},
		{[]string{"http://example.com/healthz"}, "host names are not resolved"},
		{[]string{"127.0.0.1:8080"}, "want http://HOST:PORT/path"},
		{[]string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}, "want at most one URL, got 2"},
		{[]string{"-timeout", "0s"}, "-timeout must be positive"},
		{[]string{"-timeout", "soon"}, `invalid value "soon" for flag -timeout`},
		{[]string{"-no-such-flag"}, "flag provided but not defined"},
	} {
		code, out, errs := probeRun(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.msg) {
			t.Errorf("probe %q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errs, tc.msg)
		}
		if strings.HasPrefix(tc.msg, "flag provided") || strings.HasPrefix(tc.msg, "invalid value") {
			continue // flag's own error, followed by the usage
		}
		if !strings.HasPrefix(errs, "rawserve probe: ") || strings.Count(errs, "\n") != 1 {
			t.Errorf("probe %q: stderr %q; want one line starting rawserve probe:", tc.args, errs)
		}
	}
}

func TestProbeHelp(t *testing.T) {
	code, out, errs := probeRun(t, "-h")
	if code != 0 || out != "" || !strings.HasPrefix(errs, "Usage: rawserve probe [flags] [URL]\n") {
		t.Fatalf("probe -h: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, want := range []string{"health check", "HEALTHCHECK", "RAWSERVE_PROBE_URL", "RAWSERVE_ADDR", defaultProbeURL, "-timeout"} {
		if !strings.Contains(errs, want) {
			t.Errorf("probe -h does not mention %q:\n%s", want, errs)
		}
	}
}

// Without an argument the URL comes from RAWSERVE_PROBE_URL, else from the
// server's RAWSERVE_ADDR, else the default.
func TestProbeURLFromEnv(t *testing.T) {
	for _, tc := range []struct{ probeURL, addr, want, err string }{
		{"", "", defaultProbeURL, ""},
		{"http://[::1]:9/x", "127.0.0.1:8081", "http://[::1]:9/x", ""},
		{"", "127.0.0.1:8081", "http://127.0.0.1:8081/healthz", ""},
		{"", ":8080", "http://127.0.0.1:8080/healthz", ""},
		{"", "0.0.0.0:80", "http://127.0.0.1:80/healthz", ""},
		{"", "[::]:8080", "http://[::1]:8080/healthz", ""},
		{"", "[::1]:8080", "http://[::1]:8080/healthz", ""},
		{"", "localhost:8080", "http://127.0.0.1:8080/healthz", ""},
		{"", "8080", "", `RAWSERVE_ADDR: address "8080"`},
		{"", "127.0.0.1:0", "", "port 0"},
	} {
		t.Setenv("RAWSERVE_PROBE_URL", tc.probeURL)
		t.Setenv("RAWSERVE_ADDR", tc.addr)
		got, err := probeURLFromEnv()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("PROBE_URL %q, ADDR %q: %q, %v; want error %q", tc.probeURL, tc.addr, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PROBE_URL %q, ADDR %q: %q, %v; want %q", tc.probeURL, tc.addr, got, err, tc.want)
		}
	}

	// And runProbe uses it.
	url := healthServer(t, http.StatusOK) + "/healthz"
	t.Setenv("RAWSERVE_PROBE_URL", url)
	if code, out, errs := probeRun(t, "-v"); code != 0 || out != "GET "+url+": 200 OK\n" {
		t.Errorf("probe with RAWSERVE_PROBE_URL: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	t.Setenv("RAWSERVE_PROBE_URL", "")
	t.Setenv("RAWSERVE_ADDR", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/healthz"))
	if code, out, errs := probeRun(t, "-v"); code != 0 || out != "GET "+url+": 200 OK\n" {
		t.Errorf("probe with RAWSERVE_ADDR: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	t.Setenv("RAWSERVE_ADDR", "8080")
	if code, _, errs := probeRun(t); code != 2 || !strings.Contains(errs, "RAWSERVE_ADDR") {
		t.Errorf("probe with a bad RAWSERVE_ADDR: exit %d, stderr %q; want 2", code, errs)
	}
}

// The subcommand as the container runs it: the real binary probing a real
// rawserve, over IPv4 and IPv6, and the server's own -addr in the
// environment.
func TestProbeRawserve(t *testing.T) {
	s := start(t, "-quiet")
	for _, args := range [][]string{
		{"probe", "http://" + s.addr + "/healthz"},
		{"probe", "-v", "-timeout", "5s", "http://" + s.addr + "/"},
	} {
		cmd := exec.Command(binary, args...)
		cmd.Env = []string{}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("rawserve %q: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(binary, "probe")
	cmd.Env = []string{"RAWSERVE_ADDR=" + s.addr}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("rawserve probe with RAWSERVE_ADDR=%s: %v\n%s", s.addr, err, out)
	}
	cmd = exec.Command(binary, "probe", "http://"+s.addr+"/no-such-page")
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), ": 404 Not Found\n") {
		t.Errorf("rawserve probe of a missing page: %v, %q; want exit 1 and 404 Not Found", err, out)
	}

	six := runServer(t, binary, "-addr", "[::1]:0", "-quiet")
	cmd = exec.Command(binary, "probe", "http://"+six.addr+"/healthz")
	cmd.Env = []string{}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("rawserve probe over IPv6 (%s): %v\n%s", six.addr, err, out)
	}
}
