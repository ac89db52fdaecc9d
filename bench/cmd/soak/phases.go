package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A phase is one kind of hostile load. Its share of the soak's time is its
// weight, but never less than min: some attacks need a while to show.
type phase struct {
	name   string
	weight float64
	min    time.Duration
	run    func(e *env)
	// logUnread: the access log is not read during the load nor the checks
	// after it; reading resumes once they are done.
	logUnread bool
}

var phases = []phase{
	{name: "correct", weight: 2, min: 2 * time.Second, run: correct},
	// Long enough for rawserve's header timeout (5 s) to cut partial heads.
	{name: "slowloris", weight: 1.5, min: 6 * time.Second, run: slowloris},
	{name: "non-readers", weight: 1.5, min: 3 * time.Second, run: nonReaders},
	{name: "path flood", weight: 1, min: time.Second, run: pathFlood},
	{name: "framing", weight: 1, min: time.Second, run: framing},
	{name: "big listing", weight: 1, min: time.Second, run: bigListing},
	{name: "log unread", weight: 1, min: 2 * time.Second, run: logUnread, logUnread: true},
	// Last: on a server that never reopens a recreated -dir, every later
	// request would be a 404.
	{name: "careless host", weight: 2, min: time.Second + 2*(settleBound+time.Second), run: carelessHost},
}

// An env is what a phase runs against: the server, its site, its model,
// the tally to count into, and the bounds.
type env struct {
	srv     *server
	site    *site
	model   model
	t       *tally
	end     time.Time   // the load stops here
	over    atomic.Bool // or here, when the phase says so
	conns   int         // most connections open at once
	clients int         // clients of the load phases
	seed    uint64
	witness *witness // for the fresh clients after the phase
}

func (e *env) live() bool { return !e.over.Load() && time.Now().Before(e.end) }

// each runs fn in n goroutines, each with a random source of its own, and
// waits for them all.
func (e *env) each(n int, fn func(i int, r *rand.Rand)) {
	var wg sync.WaitGroup
	for i := range n {
		r := rand.New(rand.NewPCG(e.seed, uint64(i)))
		wg.Go(func() { fn(i, r) })
	}
	wg.Wait()
}

// connect opens a connection for a load phase; a dial that fails is an
// error (nil is returned, after a pause).
func (e *env) connect() *conn {
	t0 := time.Now()
	nc, err := dial(e.srv.addr, 5*time.Second)
	if err != nil {
		e.t.fail(fmt.Errorf("dial: %w", err))
		time.Sleep(100 * time.Millisecond)
		return nil
	}
	return newConn(nc, t0)
}

// silent counts a fresh connection the serial model closed as silent: the
// soak sent its request late after the dial began.
func (e *env) silent(late time.Duration) {
	e.t.note("fresh connections closed as silent: the soak sent the request later than -yield-after")
	e.t.shortest("of those requests was sent after its dial began", late)
}

// requestTimeout bounds every exchange of the load phases: a request not
// answered within it is counted as an error.
const requestTimeout = 10 * time.Second

// correct is the load every other phase is measured against: many clients,
// kept-alive (some pipelining up to six requests) or closing, HTTP/1.1 and
// 1.0, GET, HEAD and ranges (one or several), every answer judged against
// the file.
func correct(e *env) { e.each(e.clients, e.client) }

// client is one client of the correctness load, connecting again and
// again until the phase ends.
func (e *env) client(_ int, r *rand.Rand) {
	var retry []request // unanswered: the server closed before their turn
	for e.live() {
		c := e.connect()
		if c == nil {
			continue
		}
		rounds, depth, proto := 1, 1, "close"
		switch s := r.IntN(20); {
		case s < 3: // one request, Connection: close
		case s < 4:
			proto = "1.0"
		case s < 12:
			rounds, proto = 1+r.IntN(20), "keep-alive"
		default:
			rounds, depth, proto = 1+r.IntN(10), 2+r.IntN(5), "keep-alive"
		}
		for round := 0; round < rounds && e.live(); round++ {
			batch := retry
			retry = nil
			for len(batch) < depth {
				batch = append(batch, e.randomRequest(r))
			}
			var w strings.Builder
			for _, req := range batch {
				h := head(req.method, req.target, req.rng, proto == "close")
				if proto == "1.0" {
					h = strings.Replace(h, " HTTP/1.1\r\n", " HTTP/1.0\r\n", 1)
				}
				w.WriteString(h)
			}
			c.SetDeadline(time.Now().Add(requestTimeout))
			if err := c.send(w.String()); err != nil {
				e.t.fail(fmt.Errorf("write: %w", err))
				break
			}
			closed := false
			for i, req := range batch {
				resp, body, err := c.readResponse(req.method)
				if err == nil {
					e.t.judged(e.site.check(req.target, req, resp, body))
					if resp.Close {
						// The server said it would answer no more: the
						// rest go to a new connection, as in any client.
						closed = true
						retry = append(retry, batch[i+1:]...)
						break
					}
					continue
				}
				closed = true
				switch {
				case resp == nil && closedEarly(err) && (c.used || i > 0):
					// A kept-alive connection closed between answers
					// without saying so (an idle timeout, say): the
					// client asks again, and counts the try.
					batch[i].tries++
					retry = append(retry, batch[i:]...)
				case resp == nil && closedEarly(err):
					why, late, silent := c.unanswered(e.model.serial())
					if silent {
						e.silent(late)
						batch[i].tries++
						retry = append(retry, batch[i:]...)
					} else {
						e.t.fail(kinded("lost", fmt.Errorf("%s %s: %s", req.method, req.target, why)))
					}
				case timedOut(err):
					e.t.fail(kinded("timeout", fmt.Errorf("%s %s: no answer within %v", req.method, req.target, requestTimeout)))
				default:
					e.t.fail(fmt.Errorf("%s %s%s: %v", req.method, req.target, rangeNote(req.rng), err))
				}
				break
			}
			if closed || proto != "keep-alive" {
				break
			}
		}
		c.Close()
		// A request the server closed on three times unannounced is lost.
		kept := retry[:0]
		for _, req := range retry {
			if req.tries < 3 {
				kept = append(kept, req)
			} else {
				e.t.fail(kinded("lost", fmt.Errorf("%s %s: three connections closed before its answer", req.method, req.target)))
			}
		}
		e.t.add("requests asked again on a new connection", int64(len(kept)))
		retry = kept
	}
}

// randomRequest is a GET (70%), a HEAD (10%) or a GET with Range (20%) of
// a file of the site.
func (e *env) randomRequest(r *rand.Rand) request {
	name := e.site.pick(r)
	req := request{method: "GET", target: name, start: time.Now()}
	switch n := r.IntN(10); {
	case n == 0:
		req.method = "HEAD"
	case n < 3:
		req.rng = e.site.randomRange(r, name)
	}
	return req
}

// slowloris holds up to -conns connections that send their heads slowly:
// a third trickle a whole head a byte at a time (~3 s), a third stop in the
// middle of the request line's Host field, a third send a header field
// every 200 ms, forever. Each reconnects when the server closes it. A whole
// head must get its answer (or a close: the serial model closes a silent
// connection when others wait); a partial one may get 400 or 408, never a
// 200.
func slowloris(e *env) {
	var mu sync.Mutex
	var longest time.Duration
	dials := make(chan struct{}, 64)
	e.each(e.conns, func(i int, r *rand.Rand) {
		for e.live() {
			dials <- struct{}{}
			dialed := time.Now()
			nc, err := dial(e.srv.addr, 2*time.Second)
			<-dials
			if err != nil {
				e.t.note("dials not accepted within 2 s")
				time.Sleep(100 * time.Millisecond)
				continue
			}
			nc.SetDeadline(e.end.Add(requestTimeout))
			c := newConn(nc, dialed)
			t0 := time.Now()
			switch i % 3 {
			case 0:
				e.trickle(c, r)
			case 1:
				e.stopMidHead(c)
			case 2:
				e.endlessHead(c, r)
			}
			if i%3 != 0 {
				mu.Lock()
				longest = max(longest, time.Since(t0))
				mu.Unlock()
			}
			c.Close()
		}
	})
	e.t.longest("a partial head was held", longest)
}

func (e *env) trickle(c *conn, r *rand.Rand) {
	req := request{method: "GET", target: e.site.pick(r)}
	h := head("GET", req.target, "", true)
	gap := 3 * time.Second / time.Duration(len(h))
	for i := range len(h) {
		if !e.live() {
			return
		}
		if _, err := c.Write([]byte{h[i]}); err != nil {
			e.t.note("trickled heads cut off by the server")
			return
		}
		time.Sleep(gap)
	}
	req.start = time.Now()
	resp, body, err := c.readResponse("GET")
	switch {
	case err == nil && resp.StatusCode == http.StatusRequestTimeout:
		e.t.note("trickled heads answered 408")
	case err == nil:
		e.t.judged(e.site.check(req.target, req, resp, body))
	case resp == nil && closedEarly(err):
		e.t.note("trickled heads closed without an answer")
	default:
		e.t.fail(fmt.Errorf("a trickled head for %s: %v", req.target, err))
	}
}

func (e *env) stopMidHead(c *conn) {
	if _, err := io.WriteString(c, "GET "+probePath+" HTTP/1.1\r\nHost: so"); err != nil {
		return
	}
	c.SetReadDeadline(e.end)
	e.refusal(c, "partial heads")
}

func (e *env) endlessHead(c *conn, r *rand.Rand) {
	if _, err := io.WriteString(c, "GET "+probePath+" HTTP/1.1\r\nHost: soak\r\n"); err != nil {
		return
	}
	for n := 0; e.live(); n++ {
		if _, err := fmt.Fprintf(c, "X-Pad-%d: %d\r\n", n, r.Int()); err != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	e.refusal(c, "endless heads")
}

// refusal reads what the server says to a head it must not serve: 400,
// 408 or 431, or nothing but a close; what is still open when the phase
// ends is counted too.
func (e *env) refusal(c *conn, what string) {
	resp, _, err := c.readResponse("GET")
	switch {
	case err == nil && (resp.StatusCode == 400 || resp.StatusCode == 408 || resp.StatusCode == 431):
		e.t.note(fmt.Sprintf("%s answered %d", what, resp.StatusCode))
	case err == nil:
		e.t.judged(kinded("status", fmt.Errorf("%s answered %d", what, resp.StatusCode)))
	case timedOut(err):
		e.t.note(what + " still open when the phase ended")
	case closedEarly(err):
		e.t.note(what + " closed by the server")
	default:
		e.t.fail(fmt.Errorf("%s: %w", what, err))
	}
}

// nonReaders: up to a third of -conns (at most 300) clients each pipeline
// requests for 64 KiB or 1 MiB files and never read, holding the server's
// writes until the phase ends (or its write timeout cuts them off); 16 late
// readers pipeline four requests, wait one to two seconds, and then read
// every answer, which must be whole.
func nonReaders(e *env) {
	holders := min(e.conns/3, 300)
	e.each(holders+16, func(i int, r *rand.Rand) {
		if i < holders {
			e.holdUnread(i, r)
			return
		}
		for e.live() {
			e.lateReader(r)
		}
	})
}

func (e *env) holdUnread(i int, r *rand.Rand) {
	time.Sleep(time.Duration(i) * time.Millisecond) // a ramp, not a SYN burst
	nc, err := dial(e.srv.addr, 2*time.Second)
	if err != nil {
		e.t.note("non-readers not accepted within 2 s")
		return
	}
	defer nc.Close()
	var w strings.Builder
	if i%4 == 0 {
		for range 2 {
			w.WriteString(head("GET", e.site.big[r.IntN(len(e.site.big))], "", false))
		}
	} else {
		for range 8 {
			w.WriteString(head("GET", fmt.Sprintf("/f%03d.bin", 3*r.IntN(smallFiles/3)+2), "", false))
		}
	}
	nc.SetDeadline(e.end)
	if _, err := io.WriteString(nc, w.String()); err != nil {
		return
	}
	e.t.note("non-readers held")
	time.Sleep(time.Until(e.end))
}

func (e *env) lateReader(r *rand.Rand) {
	dialed := time.Now()
	nc, err := dial(e.srv.addr, 2*time.Second)
	if err != nil {
		e.t.note("late readers not accepted within 2 s")
		time.Sleep(100 * time.Millisecond)
		return
	}
	defer nc.Close()
	c := newConn(nc, dialed)
	var batch []request
	var w strings.Builder
	for range 4 {
		req := request{method: "GET", target: e.site.big[r.IntN(len(e.site.big))], start: time.Now()}
		if r.IntN(2) == 0 {
			req.target = fmt.Sprintf("/f%03d.bin", 3*r.IntN(smallFiles/3)+2)
		}
		if r.IntN(4) == 0 {
			req.rng = e.site.randomRange(r, req.target)
		}
		batch = append(batch, req)
		w.WriteString(head(req.method, req.target, req.rng, false))
	}
	deadline := time.Now().Add(15 * time.Second)
	if e.model.serial() {
		// One connection at a time, and a non-reader holds it until its
		// write timeout: a late reader is served only if its turn comes
		// before the phase ends.
		deadline = e.end.Add(time.Second)
	}
	c.SetDeadline(deadline)
	if _, err := io.WriteString(c, w.String()); err != nil {
		e.t.fail(fmt.Errorf("late reader: write: %w", err))
		return
	}
	time.Sleep(time.Second + time.Duration(r.IntN(1000))*time.Millisecond)
	for i, req := range batch {
		resp, body, err := c.readResponse(req.method)
		switch {
		case err == nil:
			e.t.judged(e.site.check(req.target, req, resp, body))
			if resp.Close {
				e.t.add("late readers' requests unanswered after Connection: close", int64(len(batch)-i-1))
				return
			}
			continue
		case resp == nil && timedOut(err) && e.model.serial():
			e.t.note("late readers not served before the phase ended (serial: one connection at a time)")
		case resp == nil && closedEarly(err) && i > 0:
			e.t.add("late readers' requests unanswered after a close", int64(len(batch)-i))
		default:
			e.t.fail(fmt.Errorf("late reader, %s %s%s: %v", req.method, req.target, rangeNote(req.rng), err))
		}
		return
	}
}

// pathFlood: half as many clients as the correctness load, each
// pipelining eight requests at a time for paths never seen before (404)
// or hostile ones — traversal in every encoding, NUL, backslashes, the
// symlink that leads out, hidden names, overlong paths — which may be
// refused (301, 400, 403, 404, 414, 431), or served only when they name a
// file of the site, with its bytes.
func pathFlood(e *env) {
	e.each(max(e.clients/2, 1), func(i int, r *rand.Rand) {
		seq := 0
		for e.live() {
			c := e.connect()
			if c == nil {
				continue
			}
			for round := 0; round < 20 && e.live(); round++ {
				var targets []string
				var w strings.Builder
				for range 8 {
					seq++
					t := fmt.Sprintf("/nx/%d-%d-%x", i, seq, r.Uint64())
					if r.IntN(2) == 0 {
						t = hostilePath(r, e.site)
					}
					targets = append(targets, t)
					w.WriteString(head("GET", t, "", false))
				}
				c.SetDeadline(time.Now().Add(requestTimeout))
				if _, err := io.WriteString(c, w.String()); err != nil {
					e.t.note("connections closed while requests were being sent")
					break
				}
				if !e.readFlood(c, targets) {
					break
				}
			}
			c.Close()
		}
	})
}

// readFlood reads and judges the answers to targets; false when the
// connection is done.
func (e *env) readFlood(c *conn, targets []string) bool {
	for i, t := range targets {
		req := request{method: "GET", target: t, start: time.Now()}
		resp, body, err := c.readResponse("GET")
		if err != nil {
			switch {
			case resp == nil && closedEarly(err):
				e.t.add("requests unanswered after the server closed", int64(len(targets)-i))
			case timedOut(err):
				e.t.fail(kinded("timeout", fmt.Errorf("GET %.60q: no answer within %v", t, requestTimeout)))
			default:
				e.t.fail(fmt.Errorf("GET %.60q: %v", t, err))
			}
			return false
		}
		e.t.judged(e.judgePath(req, resp, body))
		if resp.Close {
			e.t.add("requests unanswered after a refusal closed the connection", int64(len(targets)-i-1))
			return false
		}
	}
	return true
}

func (e *env) judgePath(req request, resp *http.Response, body []byte) error {
	if name := e.site.resolve(req.target); name != "" && resp.StatusCode == 200 {
		return e.site.check(name, req, resp, body)
	}
	if strings.Contains(string(body), string(e.site.marker)) {
		return kinded("secret", fmt.Errorf("GET %.60q: the body holds the secret from outside the root", req.target))
	}
	switch resp.StatusCode {
	case 404:
		return nil
	case 301, 400, 403, 414, 431:
		if strings.HasPrefix(req.target, "/nx/") {
			return kinded("status", fmt.Errorf("GET %.60q: %d for a plain missing name, not 404", req.target, resp.StatusCode))
		}
		return nil
	}
	return kinded("status", fmt.Errorf("GET %.60q: %d", req.target, resp.StatusCode))
}

// hostilePath returns a request-target meant to escape the root, confuse
// the decoder or cost the server memory.
func hostilePath(r *rand.Rand, s *site) string {
	name := s.names[r.IntN(len(s.names))][1:]
	switch r.IntN(24) {
	case 0:
		return "/%2e%2e/secret.txt"
	case 1:
		return "/%2e%2e%2fsecret.txt"
	case 2:
		return "/big/../../secret.txt"
	case 3:
		return "/escape"
	case 4:
		return "/./escape?x=" + name
	case 5:
		return "/%65scape"
	case 6:
		return "/" + name + "%00.html"
	case 7:
		return "/%c0%ae%c0%ae/secret.txt"
	case 8:
		return "/%252e%252e/secret.txt"
	case 9:
		return "/..\\secret.txt"
	case 10:
		return "/%5c..%5csecret.txt"
	case 11:
		return "/.git/config"
	case 12:
		return "/" + name + "/"
	case 13:
		return "//" + name
	case 14:
		return "/big/./../" + name
	case 15:
		return "/" + strings.Repeat("a/", 1000+r.IntN(3000))
	case 16:
		return "/" + strings.Repeat("x", 4000+r.IntN(12000))
	case 17:
		return "/%zz" + name
	case 18:
		return "/" + name + "?q=%00&r=" + name
	case 19:
		return "/\xc3\xa9t\xc3\xa9/" + name
	case 20:
		return "/%" + fmt.Sprintf("%02x", name[0]) + name[1:]
	case 21:
		return "http://127.0.0.1/" + name
	case 22:
		return "/proc/self/environ"
	}
	return "/big"
}

// A framing case is raw bytes a hostile client sends. A case that is not
// valid must be refused — one answer at most, 4xx (or 501, 505: a coding
// or version not implemented), then a close — and a request smuggled after
// it must never be answered. A valid one is a control: each request gets
// its answer.
type framingCase struct {
	name  string
	raw   string
	valid int // requests a valid case holds; 0: must be refused
}

const smuggled = "GET /f001.bin HTTP/1.1\r\nHost: soak\r\n\r\n"

var framingCases = []framingCase{
	{"CL then TE chunked", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 0},
	{"TE chunked then CL", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n" + smuggled + "\r\n0\r\n\r\n", 0},
	{"two differing CL", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 0\r\nContent-Length: 39\r\n\r\n" + smuggled, 0},
	{"CL list", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 0, 39\r\n\r\n" + smuggled, 0},
	{"CL with plus", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: +39\r\n\r\n" + smuggled, 0},
	{"CL hex", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 0x27\r\n\r\n" + smuggled, 0},
	{"CL overflow", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 18446744073709551617\r\n\r\n" + smuggled, 0},
	{"space before colon", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length : 39\r\n\r\n" + smuggled, 0},
	{"TE chunked, identity", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, 0},
	{"TE xchunked", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled, 0},
	{"TE twice", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 0},
	{"TE in obs-fold", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nX: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 39\r\n\r\n" + smuggled, 0},
	{"bare LF before TE", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nX: a\nTransfer-Encoding: chunked\r\nContent-Length: 39\r\n\r\n" + smuggled, 0},
	{"chunk size not hex", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled, 0},
	{"chunk size overflow", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n" + smuggled, 0},
	{"chunk without CRLF", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n" + smuggled, 0},
	{"HTTP/2.0", "GET /f001.bin HTTP/2.0\r\nHost: soak\r\n\r\n" + smuggled, 0},
	{"HTTP/1.10", "GET /f001.bin HTTP/1.10\r\nHost: soak\r\n\r\n" + smuggled, 0},
	{"HTTP/0.9 line", "GET /f001.bin\r\n\r\n" + smuggled, 0},
	{"lower-case version", "GET /f001.bin http/1.1\r\nHost: soak\r\n\r\n" + smuggled, 0},
	{"no Host", "GET /f001.bin HTTP/1.1\r\n\r\n" + smuggled, 0},
	{"two Hosts", "GET /f001.bin HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled, 0},
	{"NUL in a field", "GET /f001.bin HTTP/1.1\r\nHost: soak\r\nX: a\x00b\r\n\r\n" + smuggled, 0},
	{"two spaces", "GET  /f001.bin HTTP/1.1\r\nHost: soak\r\n\r\n" + smuggled, 0},
	{"field name with space", "GET /f001.bin HTTP/1.1\r\nHost: soak\r\nBad Name: x\r\n\r\n" + smuggled, 0},
	{"oversize field", "GET /f001.bin HTTP/1.1\r\nHost: soak\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n" + smuggled, 0},
	{"oversize target", "GET /" + strings.Repeat("b", 20<<10) + " HTTP/1.1\r\nHost: soak\r\n\r\n" + smuggled, 0},
	{"too many fields", "GET /f001.bin HTTP/1.1\r\nHost: soak\r\n" + strings.Repeat("X: y\r\n", 500) + "\r\n" + smuggled, 0},
	{"body too large", "POST /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 1000000000\r\n\r\n" + smuggled, 0},
	// Controls: the same connection's requests, each answered.
	{"pipelined GETs", smuggled + "GET /f002.bin HTTP/1.1\r\nHost: soak\r\n\r\n" + "GET /f000.bin HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n", 3},
	{"GET with a body", "GET /f000.bin HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\n\r\nhello" + smuggled + "GET /f002.bin HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n", 3},
	{"GET with a chunked body", "GET /f000.bin HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggled + "GET /f002.bin HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n", 3},
}

// refusals are the statuses a refused case may get.
var refusals = map[int]bool{400: true, 405: true, 408: true, 411: true, 413: true, 414: true, 431: true, 501: true, 505: true}

// framing sends the cases, each on a connection of its own and cut into
// one to three pieces, from half as many clients as the correctness load.
func framing(e *env) {
	e.each(max(e.clients/2, 1), func(i int, r *rand.Rand) {
		for e.live() {
			fc := framingCases[r.IntN(len(framingCases))]
			c := e.connect()
			if c == nil {
				continue
			}
			e.framingCase(c, fc, r)
			c.Close()
		}
	})
}

// framingWait bounds a case: longer than rawserve's header timeout (5 s)
// and its linger (0.5 s), so a case neither answered nor closed by then
// has hung.
const framingWait = 8 * time.Second

func (e *env) framingCase(c *conn, fc framingCase, r *rand.Rand) {
	c.SetDeadline(time.Now().Add(framingWait))
	raw := fc.raw
	for pieces := 1 + r.IntN(3); pieces > 0 && raw != ""; pieces-- {
		n := len(raw)
		if pieces > 1 {
			n = 1 + r.IntN(len(raw))
		}
		if _, err := io.WriteString(c, raw[:n]); err != nil {
			break // refused before it was all sent
		}
		raw = raw[n:]
		time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
	}
	fail := func(kind, format string, args ...any) {
		e.t.fail(kinded(kind, fmt.Errorf("framing %q: %s", fc.name, fmt.Sprintf(format, args...))))
	}
	targets := []string{"/f001.bin", "/f002.bin", "/f000.bin"}
	if strings.HasPrefix(fc.raw, "GET /f000.bin") {
		targets = []string{"/f000.bin", "/f001.bin", "/f002.bin"}
	}
	for n := 0; ; n++ {
		req := request{method: "GET", target: targets[min(n, 2)], start: time.Now()}
		resp, body, err := c.readResponse("GET")
		switch {
		case err != nil && resp == nil && closedEarly(err):
			if n < fc.valid {
				fail("lost", "closed after %d answers of %d", n, fc.valid)
			} else if n == 0 {
				e.t.note("refused cases closed without an answer")
			}
			return
		case err != nil && timedOut(err):
			fail("timeout", "neither answered nor closed within %v (%d answers)", framingWait, n)
			return
		case err != nil:
			fail(kindOf(err), "answer %d: %v", n+1, err)
			return
		case fc.valid > 0:
			e.t.judged(e.site.check(req.target, req, resp, body))
			if resp.Close && n+1 < fc.valid {
				e.t.note("controls cut short by Connection: close (a client asks again)")
				return
			}
		case n > 0:
			e.t.judged(kinded("smuggled", fmt.Errorf("framing %q: a second answer (%d): the smuggled request was served", fc.name, resp.StatusCode)))
			return
		case !refusals[resp.StatusCode]:
			e.t.judged(kinded("status", fmt.Errorf("framing %q: answered %d, not refused", fc.name, resp.StatusCode)))
		default:
			e.t.judged(nil)
			if !resp.Close {
				e.t.note("refusals without Connection: close")
			}
		}
	}
}

var listingEntry = regexp.MustCompile(`e\d{5}`)

// bigListing: eight kept-alive clients ask for the listing of a directory
// of 3,000 entries again and again; every listing must name only entries
// that are there, and the notes say how many it showed.
func bigListing(e *env) {
	e.each(8, func(_ int, r *rand.Rand) {
		for e.live() {
			c := e.connect()
			if c == nil {
				continue
			}
			for round := 0; round < 50 && e.live(); round++ {
				c.SetDeadline(time.Now().Add(requestTimeout))
				if err := c.send(head("GET", listingPath, "", false)); err != nil {
					e.t.fail(fmt.Errorf("GET %s: write: %w", listingPath, err))
					break
				}
				resp, body, err := c.readResponse("GET")
				switch {
				case err == nil:
				case resp == nil && closedEarly(err) && c.used:
					// closed between answers: a client asks again
				case resp == nil && closedEarly(err):
					why, late, silent := c.unanswered(e.model.serial())
					if silent {
						e.silent(late)
					} else {
						e.t.fail(kinded("lost", fmt.Errorf("GET %s: %s", listingPath, why)))
					}
				default:
					e.t.fail(fmt.Errorf("GET %s: %w", listingPath, err))
				}
				if err != nil {
					break
				}
				e.t.judged(e.judgeListing(resp, body))
				if resp.Close {
					break
				}
			}
			c.Close()
		}
	})
}

func (e *env) judgeListing(resp *http.Response, body []byte) error {
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return kinded("status", fmt.Errorf("GET %s: %d %s", listingPath, resp.StatusCode, resp.Header.Get("Content-Type")))
	}
	seen := map[string]bool{}
	for _, m := range listingEntry.FindAll(body, -1) {
		seen[string(m)] = true
	}
	for name := range seen {
		var i int
		if _, err := fmt.Sscanf(name, "e%05d", &i); err != nil || i >= listingNames || listingName(i) != name {
			return kinded("mismatch", fmt.Errorf("GET %s: the listing names %s, which is not there", listingPath, name))
		}
	}
	e.t.note(fmt.Sprintf("listings showing %d of %d entries", len(seen), listingNames))
	return nil
}

// logUnread is the correctness load, from 16 clients, while nobody reads
// the access log: the pipe fills after some hundred requests, and the
// server must go on serving (dropping log lines, not blocking on them).
func logUnread(e *env) {
	e.srv.paused.Store(true)
	e.each(16, e.client)
}

// carelessHost is the correctness load from 32 clients while the files
// change under the server: for the first 30% of the phase a file is
// replaced (renamed over) every 20 ms; then the whole directory is
// replaced, in turns by mv site site.old and mkdir (site.old removed after
// the cycle), and by rm -rf and mkdir, at least once each; each time the load goes on for settleBound and
// one more second, by which time every answer must be the newest file.
func carelessHost(e *env) {
	d := time.Until(e.end)
	renames := max(time.Second, d*3/10)
	cycle := settleBound + time.Second
	cycles := max(2, int((d-renames)/cycle))
	e.end = farFuture // the load goes on until the last cycle is done
	var load sync.WaitGroup
	load.Go(func() { e.each(32, e.client) })
	r := rand.New(rand.NewPCG(e.seed, 99))
	for stop := time.Now().Add(renames); time.Now().Before(stop); {
		if err := e.site.replace(e.site.pick(r)); err != nil {
			e.t.fail(fmt.Errorf("replacing a file: %w", err))
		}
		e.t.note("files renamed over")
		time.Sleep(20 * time.Millisecond)
	}
	for n := range cycles {
		moveAside := n%2 == 0
		old, err := e.site.recreate(moveAside)
		if err != nil {
			e.t.fail(fmt.Errorf("recreating the site: %w", err))
		}
		if moveAside {
			e.t.note("directories moved aside and made anew")
		} else {
			e.t.note("directories removed and made anew")
		}
		time.Sleep(cycle)
		if old != "" {
			os.RemoveAll(old)
		}
	}
	e.over.Store(true)
	load.Wait()
}
