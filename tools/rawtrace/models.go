package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rawserve/rawserve/internal/strace"
)

// models is what waiting saves (make models): one workload against rawserve
// -wait poll, -wait spin and -model epoll, each under strace -f -c, with the
// CPU time each used; a Markdown table, the one in docs/models.md.
//
// The workload: 1 s idle, 200 requests on one kept-alive connection, 200
// `Connection: close` requests, 1 s idle.
func models(tl *tool, args []string) {
	type run struct {
		counts map[string]strace.Count
		ticks  int
	}
	measure := func(name string, flags ...string) run {
		s := tl.trace(name, how{count: true}, append([]string{"-quiet"}, flags...)...)
		time.Sleep(time.Second)
		c := tl.dial(s.addr)
		for i := 1; i <= 200; i++ {
			c.get(fmt.Sprintf("/healthz?%d", i))
		}
		c.Close()
		for i := 1; i <= 200; i++ {
			c := tl.dial(s.addr)
			c.get(fmt.Sprintf("/healthz?%d", i), "Connection: close")
			c.Close()
		}
		time.Sleep(time.Second)
		ticks, err := cpuTicks(s.PID()) // just before the end
		if err != nil {
			tl.die("%v", err)
		}
		s.stop()
		return run{s.counts(), ticks}
	}
	runs := []run{measure("poll", "-wait", "poll"), measure("spin", "-wait", "spin"), measure("epoll", "-model", "epoll")}

	tl.printf("| system call | serial, -wait poll | serial, -wait spin | -model epoll |\n")
	tl.printf("|---|---:|---:|---:|\n")
	for _, call := range []string{"accept4", "read", "write", "ppoll", "epoll_pwait", "epoll_ctl", "shutdown", "close"} {
		var cells []string
		for _, r := range runs {
			n := r.counts[call]
			cell := fmt.Sprint(n.Calls)
			if n.Errors > 0 {
				cell += fmt.Sprintf(" (%d failed)", n.Errors)
			}
			cells = append(cells, cell)
		}
		tl.printf("| %s | %s |\n", call, strings.Join(cells, " | "))
	}
	tl.printf("| **CPU time used** (user + system) | %.2f s | %.2f s | %.2f s |\n",
		float64(runs[0].ticks)/100, float64(runs[1].ticks)/100, float64(runs[2].ticks)/100)
	tl.printf("\nMeasured %s on %d cores, Linux %s, under strace (which slows every call).\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), kernel())
}

// kernel is the running kernel's release, as uname -r says it.
func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "(unknown)"
	}
	return strings.TrimSpace(string(b))
}
