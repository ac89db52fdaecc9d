package faults

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		path, query string
		want        string // the plan's fields that matter, or the error's status
	}{
		{"delay/2", "", "delay=2s"},
		{"delay/0.25", "", "delay=250ms"},
		{"delay/250ms/f.txt", "", "delay=250ms rest=/f.txt"},
		{"delay/1.5s/", "", "delay=1.5s rest=/"},
		{"drip/10/50ms/big.bin", "", "drip=10/50ms rest=/big.bin"},
		{"reset", "", "reset cut=-1"},
		{"reset/big.bin", "", "reset cut=-1 rest=/big.bin"},
		{"reset/after/1000/big.bin", "", "reset cut=1000 rest=/big.bin"},
		{"reset/after/0", "", "reset cut=0"},
		{"truncate/7", "", "truncate cut=7"},
		{"delay/1s/reset/after/5/bytes/100", "seed=9", "delay=1s reset cut=5 bytes=100 seed=9"},
		{"status/418", "", "status=418"},
		{"status/418/", "", "status=418"},
		{"bytes/16", "a=b&seed=42", "bytes=16 seed=42"},
		{"malformed/bare-lf", "", "malformed"},
		{"hang", "", "hang"},
		{"close-before-response", "", "close-before-response"},
		{"unstable/1", "", "unstable fails"},
		{"unstable/0/f.txt", "", "unstable rest=/f.txt"},
		{"", "", "error 200"},
		{"nope", "", "error 404"},
		{"f.txt", "", "error 404"},
		{"delay", "", "error 400"},
		{"delay/-1", "", "error 400"},
		{"delay/2h", "", "error 400"},
		{"delay/1x", "", "error 400"},
		{"drip/0/1s", "", "error 400"},
		{"drip/10", "", "error 400"},
		{"reset/after/x", "", "error 400"},
		{"truncate/99999999999999", "", "error 400"},
		{"status/101", "", "error 400"},
		{"status/600", "", "error 400"},
		{"status/200/f.txt", "", "error 400"},
		{"hang/delay/1", "", "error 400"},
		{"delay/1/delay/2", "", "error 400"},
		{"reset/truncate/5", "", "error 400"},
		{"truncate/5/malformed/bare-lf", "", "error 400"},
		{"malformed/nope", "", "error 404"},
		{"unstable/1.5", "", "error 400"},
		{"bytes/5", "seed=x", "error 400"},
	} {
		p, err := Parse([]byte(Prefix+tc.path), []byte(tc.query))
		if got := describe(p, err); got != tc.want {
			t.Errorf("%s?%s: %s, want %s", tc.path, tc.query, got, tc.want)
		}
	}
}

func describe(p Plan, err *Error) string {
	if err != nil {
		return fmt.Sprint("error ", err.Status)
	}
	var f []string
	add := func(format string, a ...any) { f = append(f, fmt.Sprintf(format, a...)) }
	if p.Kinds&Delay != 0 {
		add("delay=%v", p.Delay)
	}
	if p.Kinds&Drip != 0 {
		add("drip=%d/%v", p.DripBytes, p.DripEvery)
	}
	for _, k := range []Kind{Reset, Truncate, Unstable, Status, Bytes, Malformed, Hang, CloseBeforeResponse} {
		if p.Kinds&k == 0 {
			continue
		}
		switch k {
		case Reset, Truncate:
			add("%s cut=%d", k.AppendNames(nil), p.CutAfter)
		case Unstable:
			add("unstable")
			if p.Fails {
				add("fails")
			}
		case Status:
			add("status=%d", p.Status)
		case Bytes:
			add("bytes=%d seed=%d", p.Bytes, p.Seed)
		default:
			add("%s", k.AppendNames(nil))
		}
	}
	if p.Rest != nil {
		add("rest=%s", p.Rest)
	}
	return strings.Join(f, " ")
}

// The bytes are splitmix64's, as the docs say (the first outputs from seed
// 0 are the published test vector), and a stream cut into chunks is the
// stream made at once.
func TestStream(t *testing.T) {
	s := NewStream(0)
	for _, want := range []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f} {
		if got := s.next(); got != want {
			t.Fatalf("%#x, want %#x", got, want)
		}
	}
	whole := make([]byte, 1000)
	s = NewStream(1)
	s.Fill(whole)
	if got := hex.EncodeToString(whole[:8]); got != "c15c0289ec2d0a91" {
		t.Fatalf("seed 1 begins %s", got)
	}
	pieces := make([]byte, 1000)
	s = NewStream(1)
	for i := 0; i < 1000; i += 64 {
		s.Fill(pieces[i:min(i+64, 1000)])
	}
	if string(whole) != string(pieces) {
		t.Fatal("the stream depends on the chunks it was made in")
	}
}

// unstable with a seed is decided by the seed alone; without one, afresh.
func TestUnstable(t *testing.T) {
	fails := 0
	for seed := range 1000 {
		a, _ := Parse([]byte(Prefix+"unstable/0.3"), fmt.Appendf(nil, "seed=%d", seed))
		b, _ := Parse([]byte(Prefix+"unstable/0.3/f.txt"), fmt.Appendf(nil, "seed=%d", seed))
		if a.Fails != b.Fails {
			t.Fatalf("seed %d: fails %v, then %v", seed, a.Fails, b.Fails)
		}
		if a.Fails {
			fails++
		}
	}
	if fails < 240 || fails > 360 {
		t.Errorf("%d of 1000 seeds fail at p=0.3", fails)
	}
	fails = 0
	for range 1000 {
		if p, _ := Parse([]byte(Prefix+"unstable/0.3"), nil); p.Fails {
			fails++
		}
	}
	if fails < 240 || fails > 360 {
		t.Errorf("%d of 1000 unseeded draws fail at p=0.3", fails)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"2": 2 * time.Second, "0.5": 500 * time.Millisecond,
		"250ms": 250 * time.Millisecond, "1m": time.Minute, "1.25s": 1250 * time.Millisecond, "3600": time.Hour} {
		if got, ok := parseDuration([]byte(in)); !ok || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", ".", "s", "1.5.5", "3601", "61m", "1e3"} {
		if got, ok := parseDuration([]byte(in)); ok {
			t.Errorf("%s: %v, want an error", in, got)
		}
	}
}

// FuzzParse: whatever the path and query, Parse returns a plan or one of
// its refusals — 200 (the list), 400, 404 — and a plan it returns is one
// the core can carry out: counts and durations in range, a Rest that is a
// path.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"delay/1s/reset/after/5/bytes/100", "drip/3/1ms/f.txt", "unstable/0.5/", "status/418/",
		"malformed/te-and-cl", "reset/after//", "hang/x", "truncate/1/truncate/2", "delay/1.5.5", "//", "bytes/0"} {
		f.Add(s, "seed=1")
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		p, err := Parse([]byte(Prefix+path), []byte(query))
		if err != nil {
			if err.Status != 200 && err.Status != 400 && err.Status != 404 {
				t.Fatalf("%q: status %d", path, err.Status)
			}
			return
		}
		switch {
		case p.Kinds == 0:
			t.Fatalf("%q: a plan with no fault", path)
		case p.Delay < 0 || p.Delay > time.Hour || p.DripEvery < 0 || p.DripEvery > time.Hour:
			t.Fatalf("%q: durations %v, %v", path, p.Delay, p.DripEvery)
		case p.Kinds&Drip != 0 && p.DripBytes <= 0, p.Bytes > maxCount, p.CutAfter > maxCount:
			t.Fatalf("%q: counts %d, %d, %d", path, p.DripBytes, p.Bytes, p.CutAfter)
		case p.Rest != nil && (len(p.Rest) == 0 || p.Rest[0] != '/'):
			t.Fatalf("%q: rest %q", path, p.Rest)
		case p.Kinds&Status != 0 && (p.Status < 100 || p.Status > 599 || p.Status == 101):
			t.Fatalf("%q: status %d", path, p.Status)
		}
	})
}
