package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/rawserve/rawserve/internal/outq"
	"github.com/rawserve/rawserve/internal/sock"
)

// output is where rawserve's lines go: the access log to stdout; the
// start-up and stop lines, errors and -trace's narration to stderr (or to
// -trace-file). Each goes through a queue (internal/outq) with a writer of
// its own, so a serving loop never waits for the reader. A reader that
// falls behind loses lines, counted, and told once on stderr and in the
// stop line; one that goes away (EPIPE) stops that output, with one line on
// stderr; neither stops the server.
type output struct {
	log, errs *outq.Queue // stdout, stderr
	trace     *outq.Queue // -trace-file's, when given
	traceFile sock.Output
	deadline  time.Time // once the server stops, when output stops being waited for
}

const (
	// queueSize is each queue's room: four times what a pipe holds, so a
	// reader may pause for some 3,000 access-log lines before one is lost.
	queueSize = 256 << 10
	// drainTime bounds how long exit waits for output to be written out.
	drainTime = time.Second
	// settleTime bounds how long a line that should come before what the
	// server does next — the start-up line, "shutting down" — waits to be
	// written. Only a stderr nobody reads makes it wait that long.
	settleTime = 100 * time.Millisecond
)

func newOutput(stdout, stderr io.Writer) *output {
	o := &output{errs: outq.New(stderr, queueSize, nil, nil)}
	o.log = outq.New(stdout, queueSize, func() {
		io.WriteString(o.errs, "rawserve: stdout is not read fast enough: access-log lines are dropped while it is full (counted at exit)\n")
	}, func(err error) {
		fmt.Fprintf(o.errs, "rawserve: stdout: %v: no more access-log lines\n", err)
	})
	return o
}

// traceTo creates path for -trace-file and returns the queue that writes
// the narration to it.
func (o *output) traceTo(path string) (io.Writer, error) {
	fd, err := sock.CreateOutput(path)
	if err != nil {
		return nil, err
	}
	o.traceFile = fd
	o.trace = outq.New(fd, queueSize, func() {
		io.WriteString(o.errs, "rawserve: -trace-file is not written fast enough: narration lines are dropped while its queue is full (counted at exit)\n")
	}, func(err error) {
		fmt.Fprintf(o.errs, "rawserve: -trace-file: %v: no more narration\n", err)
	})
	return o.trace, nil
}

// settle waits, briefly, until stderr's lines have been written out.
func (o *output) settle() { o.errs.Flush(time.Now().Add(settleTime)) }

// until is the deadline for writing output out: drainTime after its first
// use, when the server has stopped — but at least settleTime from now, so
// that the stop line still goes out when a stuck stdout took all the rest.
func (o *output) until() time.Time {
	now := time.Now()
	if o.deadline.IsZero() {
		o.deadline = now.Add(drainTime)
	}
	return later(o.deadline, now.Add(settleTime))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sayStopped writes out the access log (within drainTime), then the stop
// line, with what output was lost on the way, and waits for the line to be
// written, so that it comes before the closes that follow:
//
//	rawserve: stopped (1234 access-log lines dropped: stdout was not read in time)
func (o *output) sayStopped() {
	o.log.Close(o.until())
	io.WriteString(o.errs, o.stopLine()+"\n")
	o.errs.Flush(o.until())
}

// stopLine is the stop line, with what each output has lost so far.
func (o *output) stopLine() string {
	var lost []string
	if n := o.log.Dropped(); n > 0 {
		lost = append(lost, fmt.Sprintf("%d access-log lines dropped: %s", n, why("stdout", o.log.Err())))
	}
	if o.trace != nil {
		if n := o.trace.Dropped(); n > 0 {
			lost = append(lost, fmt.Sprintf("%d narration lines dropped: %s", n, why("-trace-file", o.trace.Err())))
		}
	}
	if n := o.errs.Dropped(); n > 0 {
		lost = append(lost, fmt.Sprintf("%d lines of stderr dropped: %s", n, why("stderr", o.errs.Err())))
	}
	if len(lost) == 0 {
		return "rawserve: stopped"
	}
	return "rawserve: stopped (" + strings.Join(lost, "; ") + ")"
}

// why says why an output lost lines: the error that stopped it, or none.
func why(name string, err error) string {
	switch {
	case err == nil:
		return name + " was not read in time"
	case errors.Is(err, syscall.EPIPE):
		return name + " was closed"
	}
	return fmt.Sprintf("%s: %v", name, err)
}

// close writes out what is left, within drainTime of the server's stop,
// and closes -trace-file. It is the last thing run does: narration and
// stderr lines come up to the end.
func (o *output) close() {
	o.log.Close(o.until())
	if o.trace != nil {
		o.trace.Close(o.until())
		o.traceFile.Close()
	}
	o.errs.Close(o.until())
}
