package serve_test

// The tests start real servers on random loopback ports and talk to them
// over real sockets. A test that holds for every serving model runs once
// under each, as a subtest named for it (forEachModel); a test about one
// model's own behaviour starts that model by name (serialModel.start,
// epollModel.start). Every wait is bounded, in count and in time, and waits
// for a condition where there is one; the few fixed pauses prove a negative
// ("not served yet") or measure a rate ("few accept4 calls in 700 ms").
//
// The tests are a package of their own, serve_test: they see what
// cmd/rawserve sees — serve.Config, Serial and Epoll — and no more.

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/httpconn"
	"github.com/rawserve/rawserve/internal/page"
	"github.com/rawserve/rawserve/internal/serve"
	"github.com/rawserve/rawserve/internal/sock"
	"github.com/rawserve/rawserve/internal/static"
)

// A model is a way of serving connections, as the tests start one.
type model struct {
	name  string
	start func(t testing.TB, s settings) *testServer
	// loops starts an event-loop model with n loops (nil: the serial model).
	loops func(t testing.TB, s settings, n int) *testServer
	// pageNote is what the default page says about the model ("": nothing,
	// the steps it shows are the serial model's).
	pageNote string
}

var (
	serialModel = model{name: "serial", start: startSerial}
	epollModel  = model{name: "epoll", start: startEpoll1, loops: startEpoll, pageNote: "running the epoll model"}
	uringModel  = model{name: "uring", start: startUring1, loops: startUring, pageNote: "running the uring model"}

	// models are the ways of serving every conformance test runs against.
	models = []model{serialModel, epollModel, uringModel}
	// loopModels are the event loops: the tests of what serving many
	// connections from one thread must do — thousands at once, limits,
	// slow clients, the grace period — run against each.
	loopModels = []model{epollModel, uringModel}
)

// forEachModel runs test once for each of models, as a subtest named for it.
func forEachModel(t *testing.T, test func(t *testing.T, m model)) {
	t.Helper()
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) { test(t, m) })
	}
}

// forEachLoop runs test once for each of loopModels, as a subtest named
// for it.
func forEachLoop(t *testing.T, test func(t *testing.T, m model)) {
	t.Helper()
	for _, m := range loopModels {
		t.Run(m.name, func(t *testing.T) { test(t, m) })
	}
}

// settings are the parts of a serve.Config the tests choose.
type settings struct {
	HeaderTimeout, IdleTimeout, WriteTimeout, Linger, Grace, YieldAfter time.Duration

	MaxConns       int
	MaxBody        int64
	Dir            *static.Dir
	FileCache      int64 // bytes; 0: no cache
	FileCacheTrust time.Duration
	LogHealthz     bool
	Story          *page.Story
	Faults         bool
	FaultHang      time.Duration
}

// config is the one place the tests build a serve.Config: when its
// fields change, this is what changes.
func (s settings) config() serve.Config {
	return serve.Config{
		Config: httpconn.Config{
			HeaderTimeout: s.HeaderTimeout, IdleTimeout: s.IdleTimeout, WriteTimeout: s.WriteTimeout,
			Linger: s.Linger, MaxBody: s.MaxBody,
			Dir: s.Dir, FileCacheSize: s.FileCache, FileCacheTrust: s.FileCacheTrust, LogHealthz: s.LogHealthz, Story: s.Story,
			Faults: s.Faults, FaultHang: s.FaultHang,
		},
		Grace: s.Grace, MaxConns: s.MaxConns, YieldAfter: s.YieldAfter,
	}
}

// syncBuffer is an access log the test can read while the server writes.
// (cmd/rawserve's tests have one of their own, lockedBuffer: test files
// cannot share code across packages.)
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	addr string
	log  *syncBuffer
	errs *syncBuffer
	stop func() error // wakes the server and waits for it to return
}

// startSerial runs the serial model on a random loopback port until the
// test ends.
func startSerial(t testing.TB, s settings) *testServer {
	t.Helper()
	w, err := sock.NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	p := &sock.Poller{Waker: w}
	a, _ := sock.ParseAddr("127.0.0.1:0")
	l, err := sock.Listen(a, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, s, w, []*sock.Listener{l}, func(cfg serve.Config) error { return serve.Serial(l, p, cfg) })
}

func startEpoll1(t testing.TB, s settings) *testServer { return startEpoll(t, s, 1) }

// startEpoll runs the epoll model with n loops, each with its own
// SO_REUSEPORT listener on one random loopback port, until the test ends.
func startEpoll(t testing.TB, s settings, n int) *testServer {
	t.Helper()
	return startLoops(t, s, n, serve.Epoll)
}

// startLoops runs an event-loop model with n loops, each with its own
// SO_REUSEPORT listener on one random loopback port, until the test ends.
func startLoops(t testing.TB, s settings, n int, serving func([]*sock.Listener, *sock.Waker, serve.Config) error) *testServer {
	t.Helper()
	w, err := sock.NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	polls := make([]*sock.Poller, n)
	for i := range polls {
		polls[i] = &sock.Poller{Waker: w}
	}
	a, _ := sock.ParseAddr("127.0.0.1:0")
	ls, err := sock.ListenGroup(a, 0, polls)
	if err != nil {
		t.Fatal(err)
	}
	return run(t, s, w, ls, func(cfg serve.Config) error { return serving(ls, w, cfg) })
}

func startUring1(t testing.TB, s settings) *testServer { return startUring(t, s, 1) }

// startUring runs the uring model with n loops, as startEpoll does the
// epoll model. Where io_uring is not allowed here (a seccomp profile, the
// sysctl kernel.io_uring_disabled, an old kernel), the test is skipped,
// saying why.
func startUring(t testing.TB, s settings, n int) *testServer {
	t.Helper()
	if err := sock.UringUnavailable(); err != nil {
		t.Skipf("the uring model cannot run here: %v", err)
	}
	return startLoops(t, s, n, serve.Uring)
}

// run serves on ls until the test ends (or stop is called); the server's
// error log must stay empty.
func run(t testing.TB, s settings, w *sock.Waker, ls []*sock.Listener, serving func(serve.Config) error) *testServer {
	t.Helper()
	ts := &testServer{addr: ls[0].Addr().String(), log: &syncBuffer{}, errs: &syncBuffer{}}
	cfg := s.config()
	cfg.AccessLog, cfg.ErrorLog = ts.log, ts.errs
	done := make(chan error, 1)
	go func() { done <- serving(cfg) }()
	var once sync.Once
	var serr error
	ts.stop = func() error {
		once.Do(func() {
			w.Wake()
			select {
			case serr = <-done:
			case <-time.After(10 * time.Second):
				serr = errors.New("the server did not return 10s after shutdown")
			}
			for _, l := range ls {
				l.Close()
			}
			w.Close()
		})
		return serr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Error(err)
		}
		if e := ts.errs.String(); e != "" {
			t.Errorf("error log:\n%s", e)
		}
	})
	return ts
}

// logged waits, up to 5 s, for the access log to hold s — it is written
// once the server has been idle for a moment — and returns the log.
func (ts *testServer) logged(s string) string {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if log := ts.log.String(); strings.Contains(log, s) {
			return log
		}
	}
	return ts.log.String()
}

// openDir opens root for serving until the test ends — after the server
// has stopped: cleanups run last-in, first-out, and start registers its own
// after this one.
func openDir(t testing.TB, root string) *static.Dir {
	t.Helper()
	d, err := static.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
