package httpconn

import (
	"io"
	"strconv"
	"time"
)

// accessLog buffers one line per request in Common Log Format with the
// request's duration in seconds appended:
//
//	127.0.0.1 - - [24/Nov/2026:05:23:09 +0000] "GET / HTTP/1.1" 200 1234 0.000118
//
// Writing each line at once would add a write(2) to every request. Lines are
// written when 4 KiB have gathered, when the server goes quiet (the model
// calls Server.FlushLog after sock.IdleDelay of waiting), and at shutdown — so
// under load the log costs a fraction of a syscall per request, and an idle
// server's log is never more than a moment behind.
type accessLog struct {
	w      io.Writer
	buf    []byte
	oldest time.Time // when the oldest buffered line was added
	sec    int64     // the second stamp caches
	date   []byte    // "[24/Nov/2026:05:23:09 +0000]"
}

const logFlushAt = 4 << 10

func newAccessLog(w io.Writer) *accessLog {
	return &accessLog{w: w, buf: make([]byte, 0, logFlushAt+512)}
}

// line is one request's log entry.
type line struct {
	peer          []byte // the client's IP, already formatted
	method        []byte // nil when the request could not be parsed
	target        []byte
	minor         int
	status        int
	bytes         int64
	start, finish time.Time
}

// add appends one line (none when there is no log). Method and target are
// safe to copy as they are: the parser admitted only token and URI
// characters, so a client cannot forge a log line.
func (l *accessLog) add(e *line) {
	if l == nil {
		return
	}
	if len(l.buf) == 0 {
		l.oldest = e.finish
	}
	b := append(l.buf, e.peer...)
	b = append(b, " - - "...)
	b = append(b, l.stamp(e.finish)...)
	if e.method == nil {
		b = append(b, ` "-" `...)
	} else {
		b = append(b, ` "`...)
		b = append(b, e.method...)
		b = append(b, ' ')
		b = append(b, e.target...)
		b = append(b, " HTTP/1."...)
		b = append(b, byte('0'+e.minor))
		b = append(b, `" `...)
	}
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, e.finish.Sub(e.start).Seconds(), 'f', 6, 64)
	l.buf = append(b, '\n')
	if len(l.buf) >= logFlushAt {
		l.flush()
	}
}

// stamp formats t as CLF wants it, once per second.
func (l *accessLog) stamp(t time.Time) []byte {
	t = t.UTC()
	if s := t.Unix(); s != l.sec || l.date == nil {
		l.sec = s
		l.date = t.AppendFormat(l.date[:0], "[02/Jan/2006:15:04:05 -0700]")
	}
	return l.date
}

// since is when the oldest buffered line was added; zero when none is.
func (l *accessLog) since() time.Time {
	if len(l.buf) == 0 {
		return time.Time{}
	}
	return l.oldest
}

// flush writes the buffered lines. A failed write (stdout closed) drops
// them rather than stopping the server.
func (l *accessLog) flush() {
	if len(l.buf) > 0 {
		l.w.Write(l.buf)
		l.buf = l.buf[:0]
	}
}
