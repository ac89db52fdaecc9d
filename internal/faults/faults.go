// Package faults reads the misbehaviour a request asks for under the
// reserved prefix /_faults/, when rawserve runs with -faults: a status, a
// delay, a drip, a reset, a truncated body, a close before the response, a
// hang, pseudo-random bytes, a malformed response, a random 503. It only
// reads the path and makes the bytes of the odd responses: it makes no
// system call and knows no connection. The protocol core
// (internal/httpconn, faults.go) carries a plan out; docs/faults.md tells
// what each fault looks like on the wire, in strace and to a client.
//
// A path is faults, one after another, then optionally a path to serve:
//
//	/_faults/delay/2s                     200 after 2 s, a one-line body
//	/_faults/drip/100/50ms/big.bin        big.bin, 100 body bytes every 50 ms
//	/_faults/reset/after/1000/big.bin     big.bin's head and 1,000 body bytes, then RST
//	/_faults/delay/1s/truncate/10/bytes/4096?seed=7
//
// Modifiers (delay, drip, reset, truncate, unstable) may be followed by
// more faults or a path; the others (status, bytes, malformed,
// close-before-response, hang) say what the response is, and end the path.
package faults

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"time"
)

// Prefix is where faults live; with -faults it shadows a _faults
// directory of the served tree.
const Prefix = "/_faults/"

// Requested reports whether path asks for faults.
func Requested(path []byte) bool { return bytes.HasPrefix(path, []byte(Prefix)) }

// Kind is a set of faults, for the access log.
type Kind uint16

const (
	Delay Kind = 1 << iota
	Drip
	Reset
	Truncate
	Unstable
	Status
	CloseBeforeResponse
	Hang
	Bytes
	Malformed
)

// names are the faults' names in the path, in Kind's order.
var names = [...]string{"delay", "drip", "reset", "truncate", "unstable", "status",
	"close-before-response", "hang", "bytes", "malformed"}

// AppendNames appends the faults in k, comma-separated: "delay,reset".
func (k Kind) AppendNames(b []byte) []byte {
	first := true
	for i, name := range names {
		if k&(1<<i) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		b, first = append(b, name...), false
	}
	return b
}

// Plan is what a /_faults/ path asks of the response.
type Plan struct {
	Kinds Kind

	Delay     time.Duration // before the head
	DripBytes int64         // the body in pieces of this many bytes (0: all at once)
	DripEvery time.Duration // with a pause this long between them

	// CutAfter is how many body bytes go out before the connection is cut
	// (Reset: RST; Truncate: FIN): -1 for a bare reset, right after the
	// request, with no response at all. Without Reset or Truncate it is
	// unused.
	CutAfter int64

	Fails bool // unstable, and this request drew the 503

	// What the response is, when a terminal fault says (zero: the path in
	// Rest, or with no Rest a line naming the faults).
	Status    int    // status/{code}
	Bytes     int64  // bytes/{n}: n pseudo-random bytes from Seed (-1: none)
	Seed      uint64 // bytes' seed: the query's seed, or a random one
	Malformed []byte // malformed/{kind}: the whole response, as sent

	// Rest is the path after the faults, to serve as if it had been asked
	// for ("/big.bin"), or nil.
	Rest []byte
	// Spec is the faults as written ("delay/1s/reset"): the default body.
	Spec []byte
}

// Error is a /_faults/ path this server cannot carry out: the status to
// answer with and why, which is the response's body.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return e.Reason }

// The refusals: shared values, so refusing allocates nothing.
var (
	errUnknown     = &Error{404, "no such fault: the faults are delay, drip, reset, truncate, unstable, status, bytes, malformed, close-before-response, hang (see GET /_faults/)"}
	errDuration    = &Error{400, "a duration is a number of seconds (2, 0.5) or one with a unit: 250ms, 1.5s, 1m"}
	errCount       = &Error{400, "a count of bytes is a whole number, at most 2^40"}
	errProbability = &Error{400, "unstable's probability is a number from 0 to 1 (0.25)"}
	errStatus      = &Error{400, "status takes a code from 100 to 599 (not 101: rawserve switches to no other protocol)"}
	errMalformed   = &Error{404, "malformed kinds: te-and-cl, two-lengths, status-line, bare-lf, chunk-size, nul-header"}
	errTwice       = &Error{400, "a fault may appear once in a path"}
	errTwoCuts     = &Error{400, "reset and truncate each end the connection: give one of them"}
	errAfterEnd    = &Error{400, "status, bytes, malformed, close-before-response and hang end the path: nothing may follow them"}
	errMalformedBy = &Error{400, "a malformed response is sent as it is: only delay and unstable go with it"}
	errSeed        = &Error{400, "seed is a whole number: ?seed=42"}
	// ErrHelp is GET /_faults/ itself: not a fault, the list of them.
	ErrHelp = &Error{200, help}
)

const help = `rawserve -faults: misbehaviour on request, under /_faults/ (docs/faults.md)

  status/{code}                 that status, with a one-line body (none for 1xx, 204, 304)
  delay/{duration}/...          wait before the head: 2, 0.5, 250ms, 1.5s
  drip/{bytes}/{interval}/...   the body in pieces of {bytes}, {interval} apart
  reset/...                     RST right after the request: no response
  reset/after/{n}/...           the head and n body bytes, then RST
  truncate/{n}/...              the full Content-Length announced, FIN after n body bytes
  close-before-response         FIN after the request, no response
  hang                          read the request, never answer
  bytes/{n}[?seed=s]            n pseudo-random bytes (splitmix64 from s)
  malformed/{kind}              te-and-cl, two-lengths, status-line, bare-lf, chunk-size, nul-header
  unstable/{p}/...[?seed=s]     503 with probability p (fixed by s, if given)

Modifiers (...) may be followed by more faults and a path to serve:
/_faults/delay/1s/reset/after/1000/big.bin
`

// Parse reads the faults of path, which starts with Prefix, and the seed of
// its query ("seed=s").
func Parse(path, query []byte) (Plan, *Error) {
	p := Plan{Bytes: -1, CutAfter: -1}
	spec := path[len(Prefix):]
	if len(spec) == 0 {
		return p, ErrHelp
	}
	seed, seeded, ok := parseSeed(query)
	if !ok {
		return p, errSeed
	}
	var probability float64
	s := segments{b: spec}
walk:
	for !s.done() {
		at := s.pos
		seg := s.next()
		kind := kindOf(seg)
		ended := p.Kinds&(Status|Bytes|Malformed|CloseBeforeResponse|Hang) != 0
		switch {
		case ended && len(seg) == 0 && s.done():
			break walk // a slash at the end: "hang/"
		case ended:
			return p, errAfterEnd
		case kind == 0:
			if p.Kinds == 0 {
				return p, errUnknown
			}
			p.Rest = path[len(Prefix)+at-1:] // from the slash before it
			spec = spec[:at-1]
			break walk
		case p.Kinds&kind != 0:
			return p, errTwice
		}
		p.Kinds |= kind
		var ok bool
		switch kind {
		case Delay:
			if p.Delay, ok = parseDuration(s.next()); !ok {
				return p, errDuration
			}
		case Drip:
			if p.DripBytes, ok = parseCount(s.next()); !ok || p.DripBytes == 0 {
				return p, errCount
			}
			if p.DripEvery, ok = parseDuration(s.next()); !ok {
				return p, errDuration
			}
		case Reset:
			if string(s.peek()) == "after" {
				s.next()
				if p.CutAfter, ok = parseCount(s.next()); !ok {
					return p, errCount
				}
			}
		case Truncate:
			if p.CutAfter, ok = parseCount(s.next()); !ok {
				return p, errCount
			}
		case Unstable:
			if probability, ok = parseProbability(s.next()); !ok {
				return p, errProbability
			}
		case Status:
			code, ok := parseCount(s.next())
			if !ok || code < 100 || code > 599 || code == 101 {
				return p, errStatus
			}
			p.Status = int(code)
		case Bytes:
			if p.Bytes, ok = parseCount(s.next()); !ok {
				return p, errCount
			}
		case Malformed:
			if p.Malformed = malformation(s.next()); p.Malformed == nil {
				return p, errMalformed
			}
		}
	}
	switch {
	case p.Kinds&Reset != 0 && p.Kinds&Truncate != 0:
		return p, errTwoCuts
	case p.Kinds&Malformed != 0 && p.Kinds&(Drip|Reset|Truncate) != 0:
		return p, errMalformedBy
	}
	p.Spec = spec
	if p.Kinds&Bytes != 0 {
		p.Seed = seed
		if !seeded {
			p.Seed = rand.Uint64()
		}
	}
	if p.Kinds&Unstable != 0 {
		p.Fails = draw(probability, seed, seeded)
	}
	return p, nil
}

// segments walks a path's segments: "delay/1s/" is "delay", "1s", "".
type segments struct {
	b   []byte
	pos int // where the next segment starts; past the end: none is left
}

func (s *segments) done() bool { return s.pos > len(s.b) }

// next takes the next segment (nil when none is left).
func (s *segments) next() []byte {
	seg := s.peek()
	s.pos += len(seg) + 1
	return seg
}

// peek is the next segment, left in place.
func (s *segments) peek() []byte {
	if s.done() {
		return nil
	}
	seg := s.b[s.pos:]
	if i := bytes.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	return seg
}

func kindOf(seg []byte) Kind {
	for i, name := range names {
		if string(seg) == name {
			return 1 << i
		}
	}
	return 0
}

// maxCount bounds a count of bytes: 1 TiB, which no test needs and no
// arithmetic on it overflows.
const maxCount = 1 << 40

// parseCount reads a whole number of bytes.
func parseCount(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 13 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxCount
}

// parseDecimal reads digits with an optional fraction: "2", "0.5", "1.25",
// as a whole part and a fraction in millionths.
func parseDecimal(b []byte) (whole, micro int64, ok bool) {
	i := 0
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		if whole = whole*10 + int64(b[i]-'0'); whole > maxCount {
			return 0, 0, false
		}
	}
	digits := i
	if i < len(b) && b[i] == '.' {
		i++
		for scale := int64(100000); i < len(b) && '0' <= b[i] && b[i] <= '9'; i, scale = i+1, scale/10 {
			micro += int64(b[i]-'0') * scale
			digits++
		}
	}
	return whole, micro, digits > 0 && i == len(b)
}

// parseDuration reads a number of seconds, as httpbin's /delay/2 does, or
// a number with a unit, as Go writes durations: 250ms, 1.5s, 1m. At most an
// hour (the caps, -faults-max-delay and the write timeout, are lower).
func parseDuration(b []byte) (time.Duration, bool) {
	unit := time.Second
	for _, u := range [...]struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"us", time.Microsecond}, {"s", time.Second}, {"m", time.Minute}} {
		if bytes.HasSuffix(b, []byte(u.suffix)) {
			b, unit = b[:len(b)-len(u.suffix)], u.d
			break
		}
	}
	whole, micro, ok := parseDecimal(b)
	if !ok || whole > int64(time.Hour/unit) {
		return 0, false
	}
	d := time.Duration(whole)*unit + time.Duration(micro)*unit/1e6
	return d, d <= time.Hour
}

// parseProbability reads a number from 0 to 1.
func parseProbability(b []byte) (float64, bool) {
	whole, micro, ok := parseDecimal(b)
	if !ok || whole > 1 || whole == 1 && micro > 0 {
		return 0, false
	}
	return float64(whole) + float64(micro)/1e6, true
}

// parseSeed finds seed=s in a query string.
func parseSeed(query []byte) (seed uint64, seeded, ok bool) {
	for len(query) > 0 {
		var kv []byte
		kv, query, _ = bytes.Cut(query, []byte("&"))
		v, found := bytes.CutPrefix(kv, []byte("seed="))
		if !found {
			continue
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, false, false
		}
		return n, true, true
	}
	return 0, false, true
}

// draw decides whether an unstable request fails: with its seed, always
// the same way for that seed (splitmix64's first output, as a fraction of
// 2^64, below p); without one, afresh each time.
func draw(p float64, seed uint64, seeded bool) bool {
	if !seeded {
		return rand.Float64() < p
	}
	s := NewStream(seed)
	return float64(s.next()>>11)/(1<<53) < p
}
