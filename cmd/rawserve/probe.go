package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rawserve/rawserve/internal/probe"
	"github.com/rawserve/rawserve/internal/sock"
)

// defaultProbeURL is the health endpoint of a server started with the
// default -addr (:8080, which takes IPv4 clients too).
const defaultProbeURL = "http://127.0.0.1:8080/healthz"

const probeUsage = `Usage: rawserve probe [flags] [URL]

rawserve probe is the container health check. A scratch image has no curl,
so the server's own binary asks the server whether it is healthy:

	HEALTHCHECK CMD ["/rawserve", "probe"]

It sends GET URL (connect, one request, the status line, close) and exits
0 for a 2xx status, 1 otherwise with the reason on stderr, 2 for bad usage.

URL is http://HOST[:PORT][/path][?query], HOST an IPv4 address, an [IPv6]
address or localhost: no DNS lookups, and no https. Without a URL argument
the probe uses, in order:
  $RAWSERVE_PROBE_URL
  http://$RAWSERVE_ADDR/healthz, the server's own address (a wildcard
    such as :8080 or 0.0.0.0:8080 is probed on 127.0.0.1, [::]:8080 on [::1])
  ` + defaultProbeURL + `

Flags:
`

// runProbe is the probe subcommand without the exit: main calls it when
// os.Args[1] is "probe", with the arguments after it. It returns the exit
// status: 0 healthy, 1 unhealthy, 2 bad usage.
func runProbe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rawserve probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), probeUsage)
		fs.PrintDefaults()
	}
	timeout := fs.Duration("timeout", 2*time.Second, "longest time for the whole check: connect, request and status line")
	verbose := fs.Bool("v", false, "on success, print the status line on stdout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flag has printed the error and the usage
	}
	fail := func(status int, format string, a ...any) int {
		fmt.Fprintf(stderr, "rawserve probe: "+format+"\n", a...)
		return status
	}
	if *timeout <= 0 {
		return fail(2, "-timeout must be positive, not %v", *timeout)
	}
	var url string
	switch fs.NArg() {
	case 0:
		u, err := probeURLFromEnv()
		if err != nil {
			return fail(2, "%v", err)
		}
		url = u
	case 1:
		url = fs.Arg(0)
	default:
		return fail(2, "want at most one URL, got %d arguments (see rawserve probe -h)", fs.NArg())
	}
	target, err := probe.ParseURL(url)
	if err != nil {
		return fail(2, "%v", err)
	}
	st, err := target.Check(*timeout)
	if err != nil {
		return fail(1, "%v", err)
	}
	if *verbose {
		fmt.Fprintf(stdout, "GET %s: %v\n", target.URL, st)
	}
	return 0
}

// probeURLFromEnv is the URL to probe when none is given: the one in
// RAWSERVE_PROBE_URL, else /healthz on the address the server takes from
// RAWSERVE_ADDR — so a container that moves the server with RAWSERVE_ADDR
// moves its health check too — else the default.
func probeURLFromEnv() (string, error) {
	if u := os.Getenv("RAWSERVE_PROBE_URL"); u != "" {
		return u, nil
	}
	env := os.Getenv("RAWSERVE_ADDR")
	if env == "" {
		return defaultProbeURL, nil
	}
	a, err := sock.ParseAddr(env)
	if err != nil {
		return "", fmt.Errorf("RAWSERVE_ADDR: %v", err)
	}
	if a.Port == 0 {
		return "", errors.New("RAWSERVE_ADDR has port 0, which the kernel picks at start-up: give the probe a URL")
	}
	switch {
	case a.Wildcard, !a.Is6 && a.IP == [16]byte{}:
		// Every address includes loopback. A wildcard server is dual
		// stack, or IPv4 only where there is no IPv6: 127.0.0.1 reaches
		// it either way.
		a = sock.Addr{IP: [16]byte{127, 0, 0, 1}, Port: a.Port}
	case a.Is6 && a.IP == [16]byte{}:
		// [::] is IPv6 only (see sock.Listen), so its loopback is ::1.
		a.IP[15] = 1
	}
	return "http://" + a.String() + "/healthz", nil
}
