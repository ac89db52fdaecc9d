package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/rawserve/rawserve/internal/sock"
)

// stopper stops the server on a signal. The first SIGINT, SIGTERM or SIGHUP
// wakes the server out of any wait: it stops accepting, finishes the
// responses in flight and exits 0. A second one exits at once, with status
// 1, leaving no ready file behind. Signals reach us as PID 1 too, because
// we install handlers (the kernel only drops PID 1's default actions).
type stopper struct {
	waker *sock.Waker
	out   *output
	mu    sync.Mutex // held while the ready file is written, and by the exit
	ready string     // the ready file, once written
}

// stopOnSignals installs the handlers and starts the goroutine that waits
// for the signals.
func stopOnSignals(waker *sock.Waker, out *output) *stopper {
	s := &stopper{waker: waker, out: out}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals()...)
	go s.wait(sigs)
	return s
}

// stopSignals are SIGTERM (kill, docker stop), SIGINT (Ctrl-C) and SIGHUP
// (the terminal was closed; some CI runners stop a job with it) — but not
// SIGINT or SIGHUP when it was ignored when we started: nohup ignores
// SIGHUP, and a shell without job control starts a background job (`cmd &`
// in a script) with SIGINT ignored, so that a Ctrl-C meant for the script
// leaves it running. Notify would install a handler, and undo that.
func stopSignals() []os.Signal {
	sigs := []os.Signal{syscall.SIGTERM}
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGHUP} {
		if !signal.Ignored(sig) {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

func (s *stopper) wait(sigs <-chan os.Signal) {
	sig := <-sigs
	fmt.Fprintf(s.out.errs, "rawserve: %v: shutting down\n", sig)
	s.out.settle() // the line comes before what the wake sets off
	if err := s.waker.Wake(); err != nil {
		fmt.Fprintf(s.out.errs, "rawserve: %v\n", err)
		s.exit()
	}
	sig = <-sigs
	fmt.Fprintf(s.out.errs, "rawserve: second %v: exiting now\n", sig)
	s.exit()
}

// writeReadyFile writes the ready file, and has a forced exit remove it.
func (s *stopper) writeReadyFile(path string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := sock.WriteFile(path, data); err != nil {
		return err
	}
	s.ready = path
	return nil
}

// exit exits with status 1 at once: it removes the ready file — os.Exit
// skips run's deferred removal — and gives stderr a moment.
func (s *stopper) exit() {
	s.mu.Lock() // a ready file being written is finished, then removed
	if s.ready != "" {
		sock.Remove(s.ready)
	}
	s.out.settle()
	os.Exit(1)
}
