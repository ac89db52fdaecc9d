// Command soak runs rawserve, in every model, through mixed hostile load
// and checks after each kind of attack that nothing was lost and nothing
// was kept (issue #13; docs/reliability.md explains each phase):
//
//	cd bench && go run ./cmd/soak -bin ../bin/rawserve [-duration 5m] [-o ../docs/reliability.md]
//
// For each model — serial, epoll, epoll -loops 2, uring, and epoll with no
// file cache (-file-cache-size 0: every file from disk) — it
// starts rawserve on 127.0.0.1 (a port the kernel picks, -ready-file),
// serving a temporary site of files of 1 B to 1 MiB and a directory of
// 3,000 entries (-list), with its access log going to a pipe the soak reads
// slowly, and not at all in one phase. Then, phase by phase: correct,
// slowloris, non-readers, path flood, framing, big listing, log unread,
// careless host. Every answer to a request for a file is checked byte for
// byte against a version the file held while the request was in flight.
//
// After each phase, once the load has stopped: the server is alive; its
// descriptors (/proc/PID/fd) are back to their count at idle within 10 s
// (the Go runtime's own poller, opened once, allowed); its VmRSS is back
// within 15 s under twice its warm idle figure plus what is kept by design
// and bounded — the Go heap's 4 MiB floor, each loop's 4 MiB of pools and,
// its file cache, 32 MiB at most (issue #13 counts bounded caches as
// part of idle); and ten fresh clients, one after another, each get the
// small file within 50 ms, unless an idle witness rawserve probed at the
// same moment was as slow (the machine stalled). At the end SIGTERM must
// stop it with exit 0 within -grace (epoll, 10 s) or 2 s (serial), its
// ready file removed.
//
// It prints a markdown table (and writes it to -o: between the markers
// <!-- soak:begin --> and <!-- soak:end --> if the file has them) and exits
// 1 if any check failed. -duration is the time under load, shared by the
// models and, by weight, by the phases (each has a minimum); the checks
// between phases add to it. Only 127.0.0.1 is contacted; every client has
// deadlines; at most -conns connections are open at once; every process
// started is stopped by its PID, also when the soak is interrupted.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type config struct {
	bin      string
	duration time.Duration
	conns    int
	clients  int
	logRate  int
	models   []model
	phases   []phase
	seed     uint64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "./bin/rawserve", "the rawserve binary")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Minute, "time under load, over all models and phases")
	flag.IntVar(&cfg.conns, "conns", 1000, "most connections a hostile phase holds at once (at most 2000)")
	flag.IntVar(&cfg.clients, "clients", 64, "clients of the correctness load")
	flag.IntVar(&cfg.logRate, "log-rate", 64<<10, "bytes a second the access log is read at")
	only := flag.String("models", "", "comma-separated models to run (default: all): "+names(models, func(m model) string { return m.name }))
	onlyPhases := flag.String("phases", "", "comma-separated phases to run (default: all): "+names(phases, func(p phase) string { return p.name }))
	out := flag.String("o", "", "also write the markdown to this file")
	seed := flag.Uint64("seed", 0, "seed of the clients' random choices (0: from the clock)")
	flag.Parse()
	if cfg.conns < 1 || cfg.conns > 2000 {
		die(fmt.Errorf("-conns %d: must be between 1 and 2000", cfg.conns))
	}
	if cfg.clients < 1 || cfg.clients > 500 || cfg.logRate < 1 {
		die(fmt.Errorf("-clients must be between 1 and 500, -log-rate positive"))
	}
	cfg.seed = *seed
	if cfg.seed == 0 {
		cfg.seed = uint64(time.Now().UnixNano())
	}
	cfg.models = pick(models, *only, func(m model) string { return m.name })
	cfg.phases = pick(phases, *onlyPhases, func(p phase) string { return p.name })
	if err := raiseFileLimit(cfg.conns + 2*cfg.clients + 500); err != nil {
		die(err)
	}
	version, err := exec.Command(cfg.bin, "-version").Output()
	if err != nil {
		die(fmt.Errorf("%s -version: %v (make build first)", cfg.bin, err))
	}
	if tree, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		version = fmt.Appendf(bytes.TrimSpace(version), "; the tree here at %s", bytes.TrimSpace(tree))
	}

	s, err := newSite()
	if err != nil {
		die(err)
	}
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-interrupted
		fmt.Fprintf(os.Stderr, "soak: %v: stopping the servers\n", sig)
		stopAll()
		s.remove()
		os.Exit(1)
	}()

	run := runInfo{
		started: time.Now(), version: strings.TrimSpace(string(version)), cfg: cfg,
		loadBefore: loadAverage(), args: settings(cfg),
	}
	w, err := startWitness(cfg, s.root)
	if err != nil {
		die(err)
	}
	var rows []row
	for _, m := range cfg.models {
		rows = append(rows, soakModel(cfg, m, s, w)...)
	}
	w.srv.stop(2 * time.Second)
	run.wall = time.Since(run.started)
	run.loadAfter = loadAverage()
	s.remove()

	md := markdown(run, rows)
	fmt.Print(md)
	if *out != "" {
		if err := writeSection(*out, md); err != nil {
			die(err)
		}
	}
	for _, r := range rows {
		if !r.pass {
			os.Exit(1)
		}
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "soak:", err)
	stopAll()
	os.Exit(1)
}

func names[T any](all []T, name func(T) string) string {
	var s []string
	for _, x := range all {
		s = append(s, name(x))
	}
	return strings.Join(s, ", ")
}

// pick returns the elements of all named in the comma-separated list, or
// all of them when it is empty.
func pick[T any](all []T, list string, name func(T) string) []T {
	if list == "" {
		return all
	}
	var out []T
	for _, want := range strings.Split(list, ",") {
		found := false
		for _, x := range all {
			if name(x) == strings.TrimSpace(want) {
				out, found = append(out, x), true
			}
		}
		if !found {
			die(fmt.Errorf("no such model or phase %q (there are: %s)", want, names(all, name)))
		}
	}
	return out
}

// raiseFileLimit raises the soak's own soft descriptor limit to its hard
// limit, and fails if that is still below need. rawserve inherits it.
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("the descriptor limit is %d, and this run needs %d: lower -conns", lim.Cur, need)
	}
	return nil
}

// A baseline is a server's idle figures: cold, right after it started,
// and warm — after one request of each kind the phases make, two seconds
// of the correctness load and a quiet pause. The warm figures are the ones
// the checks compare with: the first requests cost once what no load
// should cost again (the code they run is paged in, the Go runtime sizes
// its heap and, sooner or later, opens its own poller).
type baseline struct {
	coldFds       int
	coldRSS       int64
	fds           fdCount
	rss, rssLimit int64
	fresh         freshCheck
	warm          *tally // the warm-up load
	poller        bool   // the runtime's poller is counted in fds
}

// What a loop may keep by design, bounded: its buffer pools
// (httpconn.poolBudget) and the server's file cache, on by default
// (-file-cache-size). Issue #13 counts bounded caches as part of idle.
const (
	poolBound      = 4 << 20
	fileCacheBound = 32 << 20 // -file-cache-size's default, shared by the loops
)

func measureIdle(srv *server, s *site, m model, w *witness, seed uint64) baseline {
	time.Sleep(300 * time.Millisecond)
	b := baseline{coldFds: srv.fds().total(), coldRSS: srv.rss(), fresh: checkFresh(srv.addr, s, w)}
	warmUp(srv.addr, s)
	b.warm = newTally()
	e := &env{srv: srv, site: s, model: m, t: b.warm, end: time.Now().Add(warmLoad), seed: seed}
	e.each(4, e.client)
	time.Sleep(1500 * time.Millisecond) // the server trims a second after a spike
	b.fds, b.rss = srv.fds(), srv.rss()
	b.rssLimit = rssLimit(b.rss, m)
	return b
}

// settleRSS is how long after RSS first comes under the limit the figure
// the row shows is read.
const settleRSS = 2 * time.Second

// heapFloor is the heap the Go runtime keeps once it has allocated at all:
// it does not collect before the heap reaches 4 MiB (the minimum goal), and
// it returns the pages of a collected heap only when its scavenger gets to
// them — unless the server itself asks (debug.FreeOSMemory, once its pools
// have let a spike go). So an idle figure taken just after such a trim is
// up to 4 MiB below the same server a while after an ordinary request: gctrace
// shows "3->3->0 MB, 4 MB goal" and RSS staying there.
const heapFloor = 4 << 20

// rssLimit is what RSS must come back under after a phase: twice the
// warm idle figure, plus the heap floor, plus each loop's bounded pools and
// the file cache, unless it is off.
func rssLimit(idle int64, m model) int64 {
	limit := 2*idle + heapFloor + int64(m.loops)*poolBound
	if !m.noCache {
		limit += fileCacheBound
	}
	return limit
}

// warmLoad is how long four clients of the correctness load warm the
// server up before its idle figures are taken: long enough for the Go
// runtime's heap to reach its ordinary size (it is not collected before it
// reaches 4 MiB), which a cold figure does not hold.
const warmLoad = 2 * time.Second

// warmUp asks once for what the phases ask for many times: a file of each
// size, HEAD, one range and several, a listing, a missing name, a refused
// path, a refused head. It judges nothing.
func warmUp(addr string, s *site) {
	heads := []string{
		head("GET", "/f000.bin", "", false), head("GET", "/f001.bin", "", false), head("GET", "/f002.bin", "", false),
		head("GET", s.big[0], "", false), head("HEAD", "/f001.bin", "", false),
		head("GET", "/f002.bin", "bytes=0-9", false), head("GET", "/f002.bin", "bytes=0-9,100-199", false),
		head("GET", listingPath, "", false), head("GET", "/nx/warm", "", false), head("GET", "/escape", "", false),
		head("GET", "/%2e%2e/secret.txt", "", false), "GET / HTTP/1.1\r\n\r\n",
	}
	for _, h := range heads {
		nc, err := dial(addr, 2*time.Second)
		if err != nil {
			continue
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(nc, h)
		newConn(nc, time.Now()).readResponse(strings.Fields(h)[0])
		nc.Close()
	}
}

// soakModel runs every phase against one model and returns a row for each,
// and one for the stop.
func soakModel(cfg config, m model, s *site, w *witness) []row {
	perModel := cfg.duration / time.Duration(len(cfg.models))
	var weights float64
	for _, p := range cfg.phases {
		weights += p.weight
	}
	srv, base, err := startMeasured(cfg, m, s, w)
	if err != nil && strings.Contains(err.Error(), "-model uring: ") {
		// io_uring is not allowed here (a seccomp profile, the sysctl, an
		// old kernel): rawserve refused with one line saying why.
		fmt.Fprintf(os.Stderr, "soak: %s: skipped: %v\n", m.name, err)
		return []row{{model: m.name, phase: "skipped", pass: true, notes: "io_uring is not allowed here: " + err.Error()}}
	}
	if err != nil {
		die(err)
	}
	rows := []row{idleRow(m, base)}
	for i, p := range cfg.phases {
		var restarted string
		if !srv.alive() {
			restarted = fmt.Sprintf("restarted (it had stopped: %s); ", srv.exitText())
			srv.stop(time.Second)
			if srv, base, err = startMeasured(cfg, m, s, w); err != nil {
				die(err)
			}
			rows = append(rows, idleRow(m, base))
		}
		d := max(p.min, time.Duration(float64(perModel)*p.weight/weights))
		e := &env{
			srv: srv, site: s, model: m, t: newTally(), end: time.Now().Add(d),
			conns: cfg.conns, clients: cfg.clients, seed: cfg.seed + uint64(i)<<32, witness: w,
		}
		r := runPhase(e, p, &base)
		r.notes = restarted + r.notes
		fmt.Fprintf(os.Stderr, "soak: %s / %s: %d judged, %d errors, fresh worst %s, %s\n",
			m.name, p.name, r.requests, r.errors, ms(r.fresh.worst), passText(r.pass))
		rows = append(rows, r)
	}
	return append(rows, stopRow(srv, m))
}

func startMeasured(cfg config, m model, s *site, w *witness) (*server, baseline, error) {
	srv, err := start(cfg.bin, m, s, cfg.logRate)
	if err != nil {
		return nil, baseline{}, err
	}
	fmt.Fprintf(os.Stderr, "soak: %s: pid %d, %s\n", m.name, srv.cmd.Process.Pid, srv.addr)
	return srv, measureIdle(srv, s, m, w, cfg.seed), nil
}

// startWitness starts the idle rawserve the fresh clients are compared
// with: the serial model, no access log, serving a directory of its own
// with the probe's file.
func startWitness(cfg config, under string) (*witness, error) {
	s, err := newWitnessSite(under)
	if err != nil {
		return nil, err
	}
	srv, err := start(cfg.bin, model{name: "witness", flags: []string{"-quiet"}, loops: 1}, s, cfg.logRate)
	if err != nil {
		return nil, err
	}
	return &witness{srv, s}, nil
}

// A row is one phase's result against one model.
type row struct {
	model, phase     string
	load             time.Duration
	requests, errors int64
	examples         []string
	kinds            string
	notes            string
	duringWorst      time.Duration
	duringFailed     int
	fresh            freshCheck
	fds, fdBase      int
	fdOK             bool
	rss, rssLimit    int64
	rssIdle          int64
	rssOK            bool
	alive            bool
	exit             string
	stderr           []string
	stop             string // the stop row's account
	pass             bool
}

func runPhase(e *env, p phase, base *baseline) row {
	stderrBefore := e.srv.stderrLines()
	t0 := time.Now()
	stopDuring := make(chan struct{})
	duringResult := during(e.srv.addr, e.site, stopDuring)
	p.run(e)
	close(stopDuring)
	r := row{model: e.model.name, phase: p.name, load: time.Since(t0), fdBase: base.fds.total(), rssIdle: base.rss, rssLimit: base.rssLimit}
	r.duringWorst, r.duringFailed = duringResult()
	r.requests, r.errors, r.examples, r.notes, r.kinds = e.t.requests, e.t.errors, e.t.examples, e.t.noteText(), e.t.kindText()

	r.alive = e.srv.alive()
	if r.alive {
		var now fdCount
		var poller bool
		r.fdOK, _ = waitFor(10*time.Second, func() bool {
			now = e.srv.fds()
			ok, p := now.backTo(base.fds)
			poller = p
			return ok
		})
		r.fds = now.total()
		if poller {
			r.notes = "+2 fds: the Go runtime's own poller (an epoll and an eventfd, opened once when its scavenger first sleeps); " + r.notes
			base.fds, base.poller = now, true
		}
		r.rssOK, _ = waitFor(15*time.Second, func() bool { r.rss = e.srv.rss(); return r.rss >= 0 && r.rss <= base.rssLimit })
		if r.rssOK {
			// Under the limit is the check; the row shows where memory
			// settles: the server trims its pools a second after the last
			// connection let go, and hands the pages back then.
			time.Sleep(settleRSS)
			if v := e.srv.rss(); v >= 0 {
				r.rss = v
			}
		}
		r.fresh = checkFresh(e.srv.addr, e.site, e.witness)
		r.alive = e.srv.alive()
	}
	if p.logUnread {
		e.srv.paused.Store(false)
	}
	if !r.alive {
		r.exit = e.srv.exitText()
	}
	r.stderr = e.srv.stderrSince(stderrBefore)
	r.pass = r.alive && r.errors == 0 && r.fdOK && r.rssOK && r.fresh.ok()
	return r
}

// idleRow is the server's figures at start: cold, then warm.
func idleRow(m model, b baseline) row {
	return row{
		model: m.name, phase: "idle", fresh: b.fresh, fds: b.fds.total(), fdBase: b.coldFds, rss: b.rss, rssIdle: b.coldRSS,
		rssLimit: b.rssLimit, alive: true, pass: b.fresh.ok() && b.warm.errors == 0,
		requests: b.warm.requests, errors: b.warm.errors, examples: b.warm.examples, kinds: b.warm.kindText(),
		notes: fmt.Sprintf("warm: after one request of each kind, %.0f s of load from 4 clients, 1.5 s of quiet; the checks compare with it", warmLoad.Seconds()),
	}
}

// stopRow sends SIGTERM and judges the exit: within the bound, status 0,
// the ready file removed.
func stopRow(srv *server, m model) row {
	bound := 2 * time.Second // serial: 1 s plus the response in flight (none)
	if !m.serial() {
		bound = 10 * time.Second // -grace
	}
	r := row{model: m.name, phase: "SIGTERM"}
	stderrBefore := srv.stderrLines()
	wasAlive := srv.alive()
	took, inTime := srv.stop(bound)
	_, readyErr := os.Stat(srv.ready)
	removed := os.IsNotExist(readyErr)
	status := srv.exitText()
	r.exit = status
	switch {
	case !wasAlive:
		r.stop = "it had already stopped: " + status
	case !inTime:
		r.stop = fmt.Sprintf("still running %v after SIGTERM: killed", bound)
	default:
		r.stop = fmt.Sprintf("%s after %s", status, ms(took))
	}
	if !removed {
		r.stop += "; ready file left behind"
	} else {
		r.stop += "; ready file removed"
	}
	r.stop += fmt.Sprintf("; %d bytes of access log read in all", srv.logBytes.Load())
	r.stderr = srv.stderrSince(stderrBefore)
	r.pass = wasAlive && inTime && status == "exit 0" && removed
	return r
}

type runInfo struct {
	started               time.Time
	wall                  time.Duration
	version               string
	cfg                   config
	args                  string
	loadBefore, loadAfter string
}

// settings is the run's settings as flags, for the report.
func settings(cfg config) string {
	s := fmt.Sprintf("-duration %v -conns %d -clients %d -log-rate %d -seed %d", cfg.duration, cfg.conns, cfg.clients, cfg.logRate, cfg.seed)
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "models" || f.Name == "phases" {
			s += fmt.Sprintf(" -%s '%s'", f.Name, f.Value)
		}
	})
	return s
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
