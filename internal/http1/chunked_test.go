package http1

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"
)

// chunkLimits are the limits the tables run with: the defaults, and a
// MaxBody small enough to reach.
var chunkLimits = ChunkedLimits{MaxBody: 1 << 20}

const nextRequest = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

type chunkValid struct {
	name    string
	body    string // the chunked body
	rest    string // what follows it: must not be consumed
	payload string
}

var chunkValidCases = []chunkValid{
	{name: "RFC 9112 §7.1 single chunk", body: "5\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1 empty body: last-chunk only", body: "0\r\n\r\n"},
	{name: "RFC 9112 §7.1 many chunks", body: "3\r\nabc\r\n1\r\nd\r\n10\r\n0123456789abcdef\r\n2\r\n\r\n\r\n0\r\n\r\n",
		payload: "abcd0123456789abcdef\r\n"},
	{name: "RFC 9112 §7.1 lowercase hex chunk-size", body: "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", payload: "abcdefghijklmnopqrstuvwxyz"},
	{name: "RFC 9112 §7.1 uppercase hex chunk-size", body: "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", payload: "abcdefghijklmnopqrstuvwxyz"},
	{name: "RFC 9112 §7.1 leading zeros in chunk-size", body: "0005\r\nhello\r\n000\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1 sixteen digits and more zeros", body: "00000000000000000000005\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1 data is opaque", body: "9\r\na\r\nb\x00c\rd\n\r\n0\r\n\r\n", payload: "a\r\nb\x00c\rd\n"},
	{name: "RFC 9112 §7.1 data holding bare LF lines", body: "7\r\nX: y\n\n\n\r\n2\r\n\n\r\r\n0\r\n\r\n", payload: "X: y\n\n\n\n\r"},
	{name: "RFC 9112 §7.1 large chunk", body: "1000\r\n" + strings.Repeat("x", 0x1000) + "\r\n0\r\n\r\n", payload: strings.Repeat("x", 0x1000)},
	{name: "RFC 9112 §7.1.1 extension token", body: "5;name=value\r\nhello\r\n0;last\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1.1 extensions without value", body: "5;a;b;c\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1.1 extension quoted-string", body: "5;a=\"x y;z\";b=\"q\\\"\\\\\";c=\"\"\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "RFC 9110 §5.6.4 obs-text in quoted chunk extension", body: "5;a=\"caf\xe9\\\xff\"\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1.1 extension BWS", body: "5 ;\ta = b ; c\t=\t\"d\" ;e\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1.2 trailers", body: "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:1, 2\r\nX-Empty:\r\nX-OWS: \t a b \t\r\n\r\n", payload: "hello"},
	{name: "RFC 9112 §7.1.2 trailer obs-text", body: "0\r\nX: caf\xe9\r\n\r\n"},
	{name: "RFC 9112 §9.3.2 pipelined request after body", body: "5\r\nhello\r\n0\r\n\r\n", rest: nextRequest, payload: "hello"},
	{name: "RFC 9112 §9.3.2 pipelined request after trailers", body: "2\r\nhi\r\n0;e=1\r\nX: y\r\n\r\n", rest: nextRequest, payload: "hi"},
	{name: "RFC 9112 §2.2 stray CRLF after body left for the next request", body: "0\r\n\r\n", rest: "\r\n" + nextRequest},
}

// oracleChunkSkips are the valid bodies net/http/httputil's chunked reader
// refuses, on purpose on our side:
//
//   - BWS before ";": RFC 9112 §7.1.1 allows it; net/http cuts the line at
//     ";" and then finds "5 ", which is not hex.
//   - More than 16 digits counting leading zeros: net/http counts them all;
//     we count significant digits, and MaxLineBytes bounds the zeros.
//
// In the other direction net/http is looser, which the differential test
// does not check: it trims trailing whitespace ("5 \r\n"), cuts extensions
// off at ";" without looking at them (NUL, unbalanced quotes), and its
// chunked reader stops after "0\r\n", leaving trailers to its caller.
//
// Bare LF is no longer among the skips: Decode refuses it wherever a line
// could end (RFC 9112 §2.2, §11.2; see nextLine in parse.go), as net/http's
// chunked reader does after chunk lines and data. In the trailers, which
// that reader leaves to its caller, we are the stricter one.
var oracleChunkSkips = map[string]string{
	"RFC 9112 §7.1.1 extension BWS":               "BWS before ;",
	"RFC 9112 §7.1 sixteen digits and more zeros": "leading zeros count as digits",
}

type chunkInvalid struct {
	name   string
	in     string
	status int
	lim    ChunkedLimits // zero: chunkLimits
}

var chunkInvalidCases = []chunkInvalid{
	{name: "RFC 9112 §7.1 chunk-size 0x prefix → 400", in: "0x5\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1 chunk-size leading space → 400", in: " 5\r\nhello\r\n0\r\n\r\n", status: 400},
	// BWS exists in chunk-ext only next to ";" and "=": whitespace that ends
	// the line belongs to no grammar rule (net/http trims it).
	{name: "RFC 9112 §7.1.1 trailing space after chunk-size → 400", in: "5 \r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 trailing tab after extension → 400", in: "5;a=b\t\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 trailing space after extension name → 400", in: "5;a \r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1 chunk-size minus sign → 400", in: "-1\r\n", status: 400},
	{name: "RFC 9112 §7.1 chunk-size plus sign → 400", in: "+5\r\n", status: 400},
	{name: "RFC 9112 §7.1 empty chunk-size line → 400", in: "\r\nhello\r\n", status: 400},
	{name: "RFC 9112 §7.1 chunk-size then garbage → 400", in: "5g\r\n", status: 400},
	{name: "RFC 9112 §7.1 chunk-size overflow, 17 hex digits → 400", in: "10000000000000000\r\n", status: 400},
	{name: "RFC 9112 §7.1 chunk-size overflow, 17 f digits → 400", in: "fffffffffffffffff\r\n", status: 400},
	{name: "RFC 9110 §15.5.14 16 f digits is too large → 413", in: "ffffffffffffffff\r\n", status: 413, lim: DefaultChunkedLimits},
	{name: "RFC 9112 §7.1 missing CRLF after data → 400", in: "5\r\nhello0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1 data longer than size → 400", in: "3\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §2.2 bare CR after data → 400", in: "5\r\nhello\rX", status: 400},
	{name: "RFC 9112 §2.2 bare CR in size line → 400", in: "5\rhello\r\n", status: 400},
	{name: "RFC 9112 §2.2 bare CR in extension → 400", in: "5;a\rb\r\nhello\r\n", status: 400},
	{name: "RFC 9112 §2.2 bare CR in trailer → 400", in: "0\r\nX: a\rb\r\n\r\n", status: 400},
	{name: "RFC 9112 §2.2 bare CR in final line → 400", in: "0\r\n\rX", status: 400},

	// Bare LF where a line could end: lines end in CRLF only (RFC 9112 §2.2),
	// or a proxy that reads the line otherwise frames the body otherwise
	// (RFC 9112 §11.2). Chunk-data stays opaque ("RFC 9112 §7.1 data is opaque" above).
	{name: "RFC 9112 §2.2/§11.2 LF only → 400", in: "5\nhello\n0\n\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF after size → 400", in: "5\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF after extension → 400", in: "5;a=b\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF after quoted extension → 400", in: "5;a=\"b\"\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF after data → 400", in: "5\r\nhello\n0\r\n\r\n", status: 400},
	// The CR is payload, as the size says; the LF after it is bare.
	{name: "RFC 9112 §2.2/§11.2 bare LF after data ending in CR → 400", in: "6\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF after last-chunk → 400", in: "5\r\nhello\r\n0\n\r\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF after trailer → 400", in: "0\r\nX: y\n\r\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 LF only in trailers → 400", in: "5\r\nhello\r\n0\nX: y\n\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF as final line → 400", in: "0\r\n\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF as final line, pipelined → 400", in: "0\r\n\n" + nextRequest, status: 400},
	{name: "RFC 9112 §2.2/§11.2 bare LF as final line after trailer → 400", in: "0\r\nX: y\r\n\n", status: 400},
	{name: "RFC 9112 §2.2/§11.2 extra bare LF before size → 400", in: "5\r\nhello\r\n\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 NUL in extension → 400", in: "5;a\x00b\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9110 §5.6.4 NUL in quoted extension → 400", in: "5;a=\"\x00\"\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 DEL in extension value → 400", in: "5;a=b\x7f\r\n", status: 400},
	{name: "RFC 9110 §5.6.4 control in quoted-pair → 400", in: "5;a=\"\\\x01\"\r\n", status: 400},
	{name: "RFC 9110 §5.6.4 LF in quoted-string → 400", in: "5;a=\"b\nc\"\r\n", status: 400},
	{name: "RFC 9110 §5.6.4 unterminated quote → 400", in: "5;a=\"b\r\nhello\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 garbage after quoted value → 400", in: "5;a=\"b\"c\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 extension without name → 400", in: "5;\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 extension value without name → 400", in: "5;=b\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 extension empty value → 400", in: "5;a=\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 extension two values → 400", in: "5;a=b=c\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 extension not after semicolon → 400", in: "5 a\r\n", status: 400},
	{name: "RFC 9112 §7.1.2/§5.2 obs-fold in trailer → 400", in: "0\r\nX: a\r\n b\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.2/§2.2 whitespace before first trailer → 400", in: "0\r\n\tX: a\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.2/§5.1 space before colon in trailer → 400", in: "0\r\nX : a\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.2 space inside trailer name → 400", in: "0\r\nX a: b\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.2 trailer without colon → 400", in: "0\r\nXa\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.2 trailer with empty name → 400", in: "0\r\n: a\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.2 trailer name not a token → 400", in: "0\r\nX(1): a\r\n\r\n", status: 400},
	{name: "RFC 9110 §5.5 control byte in trailer value → 400", in: "0\r\nX: a\x01\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1.1 oversize chunk-ext line → 400", in: "5;" + strings.Repeat("a", 4095) + "\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9112 §7.1 oversize line of zeros → 400", in: strings.Repeat("0", 4097) + "5\r\nhello\r\n0\r\n\r\n", status: 400},
	{name: "RFC 9110 §15.5.14 oversize body announced → 413", in: "100001\r\n", status: 413},
	{name: "RFC 9110 §15.5.14 oversize body over chunks → 413", in: "5\r\nhello\r\n6\r\n", status: 413, lim: ChunkedLimits{MaxBody: 10}},
	{name: "RFC 9110 §5.4 too many trailers → 431", in: "0\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", status: 431},
	{name: "RFC 9110 §5.4 trailer section too large → 431", in: "0\r\nX: " + strings.Repeat("y", 16<<10) + "\r\n\r\n", status: 431},
}

// chunkResult is what feeding a whole input to a Chunked came to.
type chunkResult struct {
	n       int    // body bytes, summed over the calls
	done    bool   // the body ended
	status  int    // the error's status, 0 without error
	payload int64  // Payload()
	kept    string // what keep received
}

// decodeCuts feeds in to a fresh Chunked in pieces ending at cuts (ascending,
// possibly repeated), then the rest, until done or an error, and checks the
// invariants that hold for every call.
func decodeCuts(t testing.TB, in []byte, cuts []int, lim ChunkedLimits, keep bool) chunkResult {
	t.Helper()
	var c Chunked
	c.Reset(lim)
	var kept []byte
	keepp := &kept
	if !keep {
		keepp = nil
	}
	var r chunkResult
	start := 0
	for i := 0; i <= len(cuts) && !r.done && r.status == 0; i++ {
		end := len(in)
		if i < len(cuts) {
			end = cuts[i]
		}
		piece := in[start:end]
		start = end
		n, done, err := c.Decode(piece, keepp)
		if n < 0 || n > len(piece) {
			t.Fatalf("%q: Decode(%q) = %d", in, piece, n)
		}
		if err == nil && !done && n != len(piece) {
			t.Fatalf("%q: Decode(%q) = %d, not done and no error", in, piece, n)
		}
		r.n += n
		r.done = done
		if err != nil {
			if done {
				t.Fatalf("%q: done with error %v", in, err)
			}
			r.status = statusOf(err)
			switch r.status {
			case 400, 413, 431:
			default:
				t.Fatalf("%q: unexpected error %v", in, err)
			}
			// Refused once, refused for good.
			if n2, done2, err2 := c.Decode(in[start:], keepp); n2 != 0 || done2 || err2 != err {
				t.Fatalf("%q: after %v, Decode = %d, %v, %v", in, err, n2, done2, err2)
			}
		}
	}
	if r.done {
		// A finished body takes no more bytes.
		if n, done, err := c.Decode([]byte("0\r\n\r\n"), keepp); n != 0 || !done || err != nil {
			t.Fatalf("%q: after done, Decode = %d, %v, %v", in, n, done, err)
		}
	}
	r.payload = c.Payload()
	r.kept = string(kept)
	if keep && int64(len(kept)) != r.payload {
		t.Fatalf("%q: kept %d bytes, Payload() = %d", in, len(kept), r.payload)
	}
	return r
}

// decodeAllWays decodes in whole, byte by byte, without keep, and at random
// cuts, fails t unless every way agrees, and returns the result.
func decodeAllWays(t testing.TB, in []byte, lim ChunkedLimits, rng *rand.Rand) chunkResult {
	t.Helper()
	want := decodeCuts(t, in, nil, lim, true)
	same := func(how string, got chunkResult) {
		t.Helper()
		if got != want {
			t.Fatalf("%q %s: %+v; whole: %+v", in, how, got, want)
		}
	}
	bytewise := make([]int, len(in))
	for i := range bytewise {
		bytewise[i] = i + 1
	}
	same("byte by byte", decodeCuts(t, in, bytewise, lim, true))
	noKeep := decodeCuts(t, in, nil, lim, false)
	noKeep.kept = want.kept
	same("without keep", noKeep)
	for range 8 {
		cuts := make([]int, rng.IntN(6))
		for i := range cuts {
			cuts[i] = rng.IntN(len(in) + 1)
		}
		slices.Sort(cuts)
		same(fmt.Sprint("cut at ", cuts), decodeCuts(t, in, cuts, lim, true))
	}
	return want
}

func TestChunkedValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range chunkValidCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.body + tc.rest)
			got := decodeAllWays(t, in, chunkLimits, rng)
			want := chunkResult{n: len(tc.body), done: true, payload: int64(len(tc.payload)), kept: tc.payload}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if i := bareLineEnd([]byte(tc.body)); i >= 0 {
				t.Fatalf("bare CR or LF at %d", i)
			}
		})
	}
}

// TestChunkedPrefixes: every proper prefix of a valid body is the valid
// beginning of one — consumed whole, neither done nor refused.
func TestChunkedPrefixes(t *testing.T) {
	for _, tc := range chunkValidCases {
		for i := range len(tc.body) {
			var c Chunked
			c.Reset(chunkLimits)
			n, done, err := c.Decode([]byte(tc.body[:i]), nil)
			if n != i || done || err != nil {
				t.Fatalf("%s: prefix %q = %d, %v, %v", tc.name, tc.body[:i], n, done, err)
			}
		}
	}
}

func TestChunkedInvalid(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range chunkInvalidCases {
		t.Run(tc.name, func(t *testing.T) {
			lim := tc.lim
			if lim == (ChunkedLimits{}) {
				lim = chunkLimits
			}
			got := decodeAllWays(t, []byte(tc.in), lim, rng)
			if got.status != tc.status {
				t.Fatalf("got %+v, want status %d", got, tc.status)
			}
		})
	}
}

// TestChunkedErrorOffset: n counts the bytes before the offending one, so a
// server could point at it.
func TestChunkedErrorOffset(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int
	}{
		{"5\r\nhelloX", 8},
		{"5;a\x00", 3},
		{"0\r\nX : a", 5}, // the colon tells why the space is wrong
		{"100001\r\n", 6}, // 413 once the size has ended
		{"5\nhello", 1},   // the bare LF itself
		{"5\r\nhello\n", 8},
		{"0\r\nX: y\n", 7},
	} {
		var c Chunked
		c.Reset(chunkLimits)
		n, _, err := c.Decode([]byte(tc.in), nil)
		if err == nil || n != tc.n {
			t.Errorf("%q: n = %d, err = %v; want n = %d and an error", tc.in, n, err, tc.n)
		}
	}
}

// TestChunkedBareLF: a bare LF where a line could end is refused as such
// (RFC 9112 §2.2, §11.2), at the LF itself.
func TestChunkedBareLF(t *testing.T) {
	for _, in := range []string{
		"5\n", "5;a\n", "5;a=b\n", "5;a=\"b\"\n",
		"5\r\nhello\n", "6\r\nhello\r\n",
		"0\n", "0\r\n\n", "0\r\nX: y\n", "0\r\nX:\n", "0\r\nX: y\r\n\n",
	} {
		var c Chunked
		c.Reset(chunkLimits)
		n, done, err := c.Decode([]byte(in), nil)
		if n != len(in)-1 || done || err != errBareLF {
			t.Errorf("Decode(%q) = %d, %v, %v; want %d, false, %v", in, n, done, err, len(in)-1, errBareLF)
		}
	}
}

func TestChunkedLimits(t *testing.T) {
	lim := ChunkedLimits{MaxBody: 5, MaxLineBytes: 6, MaxTrailerBytes: 12, MaxTrailers: 2}
	for _, tc := range []struct {
		name   string
		in     string
		status int
	}{
		{"RFC 9110 §15.5.14 body at MaxBody accepted", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 0},
		{"RFC 9110 §15.5.14 body over MaxBody → 413", "3\r\nabc\r\n3\r\n", 413},
		{"RFC 9112 §7.1.1 line at MaxLineBytes accepted", "5;abcd\r\nhello\r\n0\r\n\r\n", 0},
		{"RFC 9112 §7.1.1 line over MaxLineBytes → 400", "5;abcde\r\n", 400},
		{"RFC 9112 §7.1 zeros at MaxLineBytes accepted", "000000\r\n\r\n", 0},
		{"RFC 9112 §7.1 zeros over MaxLineBytes → 400", "0000000", 400},
		{"RFC 9110 §5.4 trailers at MaxTrailerBytes accepted", "0\r\nA: b\r\nC:\r\n\r\n", 0}, // 6 + 4 + 2 bytes
		{"RFC 9110 §5.4 trailers at MaxTrailers accepted", "0\r\nA:\r\nB:\r\n\r\n", 0},
		{"RFC 9110 §5.4 trailers over MaxTrailers → 431", "0\r\nA:\r\nB:\r\nC:\r\n\r\n", 431},
		{"RFC 9110 §5.4 trailers over MaxTrailerBytes → 431", "0\r\nA: bc\r\nC:\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Chunked
			c.Reset(lim)
			n, done, err := c.Decode([]byte(tc.in), nil)
			if got := statusOf(err); got != tc.status || tc.status == 0 && (!done || n != len(tc.in)) {
				t.Errorf("%s: Decode(%q) = %d, %v, %v; want status %d", tc.name, tc.in, n, done, err, tc.status)
			}
		})
	}
}

func TestChunkedZeroValue(t *testing.T) {
	var c Chunked // never Reset: the defaults apply
	n, done, err := c.Decode([]byte("5\r\nhello\r\n0\r\n\r\n"), nil)
	if n != 15 || !done || err != nil || c.Payload() != 5 {
		t.Fatalf("zero Chunked: %d, %v, %v, payload %d", n, done, err, c.Payload())
	}
	c.Reset(ChunkedLimits{})
	if n, done, err := c.Decode([]byte("0\r\n\r\n"), nil); n != 5 || !done || err != nil || c.Payload() != 0 {
		t.Fatalf("after Reset: %d, %v, %v, payload %d", n, done, err, c.Payload())
	}
}

// TestChunkedNetHTTP is the differential test: every valid body, read by
// httputil.NewChunkedReader, gives the same payload. See oracleChunkSkips for
// where and why the two differ.
func TestChunkedNetHTTP(t *testing.T) {
	for _, tc := range chunkValidCases {
		if oracleChunkSkips[tc.name] != "" {
			continue
		}
		got, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader([]byte(tc.body))))
		if err != nil || string(got) != tc.payload {
			t.Errorf("%s: net/http reads %q, %v; want %q", tc.name, got, err, tc.payload)
		}
	}
}

// oracleExcuse says why net/http may refuse a body Decode accepted, or ""
// if it has no excuse. The reasons are those of oracleChunkSkips, and each
// is claimed only if the body really shows it (see bodyQuirks). A bare LF is
// no excuse: Decode refuses it, so an accepted body has none.
func oracleExcuse(body []byte, err error) string {
	msg := err.Error()
	bwsSemicolon, zeros := bodyQuirks(body)
	switch {
	case bwsSemicolon && strings.Contains(msg, "invalid byte in chunk length"):
		return "BWS before ;"
	case zeros && strings.Contains(msg, "chunk length too large"):
		return "leading zeros count as digits"
	case strings.Contains(msg, "line too long"):
		return "its line limit is 4094 bytes, ours 4096 by default"
	case strings.Contains(msg, "too much non-data"):
		return "it limits extension overhead, we limit each line"
	}
	return ""
}

// bodyQuirks reports whether a body Decode accepts has BWS before a ";", or
// has a chunk-size of more than 16 digits counting leading zeros. It replays
// the body through the decoder and watches its state.
func bodyQuirks(body []byte) (bwsSemicolon, zeros bool) {
	var c Chunked
	c.Reset(DefaultChunkedLimits)
	digits := 0
	for i := range body {
		switch st := c.state; {
		case body[i] == ';' && st == stExtBWS:
			bwsSemicolon = true
		case st == stSizeFirst:
			digits = 0
		}
		if c.state <= stSize && isHex(body[i]) {
			if digits++; digits > 16 {
				zeros = true
			}
		}
		if _, _, err := c.Decode(body[i:i+1], nil); err != nil {
			panic(err) // only for bodies Decode accepted
		}
	}
	return bwsSemicolon, zeros
}

// bareLineEnd returns the offset of the first bare CR or bare LF outside
// chunk-data in a body Decode accepts, or -1 if it has none, as it must not
// (RFC 9112 §2.2, §11.2). It replays the body through the decoder and watches
// its state, since "\r\n" alone cannot tell a CRLF from a payload CR
// followed by a bare LF.
func bareLineEnd(body []byte) int {
	var c Chunked
	c.Reset(DefaultChunkedLimits)
	for i, b := range body {
		afterCR := c.state == stSizeLF || c.state == stDataLF || c.state == stTrailerLF || c.state == stEndLF
		switch {
		case c.state == stData:
		case b == '\n' && !afterCR, b != '\n' && afterCR:
			return i
		}
		if _, _, err := c.Decode(body[i:i+1], nil); err != nil {
			panic(err) // only for bodies Decode accepted
		}
	}
	return -1
}

func TestChunkedAllocs(t *testing.T) {
	body := []byte(benchBody)
	var c Chunked
	allocs := testing.AllocsPerRun(100, func() {
		c.Reset(DefaultChunkedLimits)
		if _, done, err := c.Decode(body, nil); !done || err != nil {
			t.Fatal(done, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %v times per body", allocs)
	}
	bad := []byte("5;a=\"\x00\"\r\n")
	allocs = testing.AllocsPerRun(100, func() {
		c.Reset(DefaultChunkedLimits)
		_, _, _ = c.Decode(bad, nil)
	})
	if allocs != 0 {
		t.Errorf("refusing a body allocates %v times", allocs)
	}
}

// benchBody is a typical upload: chunks of 1 KiB, one with an extension, and
// a trailer.
var benchBody = strings.Repeat("400\r\n"+strings.Repeat("d", 1024)+"\r\n", 7) +
	"400;sig=\"abc\"\r\n" + strings.Repeat("d", 1024) + "\r\n" +
	"0\r\nDigest: sha-256=abc\r\n\r\n"

func BenchmarkChunked(b *testing.B) {
	body := []byte(benchBody)
	var c Chunked
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		c.Reset(DefaultChunkedLimits)
		if _, done, err := c.Decode(body, nil); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

// BenchmarkChunkedSmall measures the per-byte state machine: many small
// chunks, fed in two pieces.
func BenchmarkChunkedSmall(b *testing.B) {
	body := []byte(strings.Repeat("3;x=y\r\nabc\r\n", 64) + "0\r\n\r\n")
	half := len(body) / 2
	var c Chunked
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		c.Reset(DefaultChunkedLimits)
		_, _, _ = c.Decode(body[:half], nil)
		if _, done, err := c.Decode(body[half:], nil); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

// maxFuzzChunk bounds the inputs FuzzChunked looks at. Each one is decoded
// some 25 times, byte by byte among others, and the fuzzer minimizes every
// new input it finds interesting: with kilobyte inputs it spent most of its
// time minimizing rather than exploring.
const maxFuzzChunk = 512

var fuzzChunkLimits = []ChunkedLimits{
	DefaultChunkedLimits,
	{MaxBody: 16, MaxLineBytes: 8, MaxTrailerBytes: 24, MaxTrailers: 2},
}

// FuzzChunked checks, on any input and any split: no panic; n within the
// input; the same outcome whole, byte by byte and cut at split and at random;
// and that when Decode accepts a body, its lines all end in CRLF and net/http
// reads the same payload from it, unless oracleExcuse names a known
// difference.
func FuzzChunked(f *testing.F) {
	for _, tc := range chunkValidCases {
		if len(tc.body+tc.rest) <= maxFuzzChunk {
			f.Add([]byte(tc.body+tc.rest), uint(len(tc.body)/2))
		}
	}
	for _, tc := range chunkInvalidCases {
		if len(tc.in) <= maxFuzzChunk {
			f.Add([]byte(tc.in), uint(1))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		if len(in) > maxFuzzChunk {
			return // the small limits reach every limit in fewer bytes
		}
		rng := rand.New(rand.NewPCG(uint64(split), uint64(len(in))))
		for _, lim := range fuzzChunkLimits {
			want := decodeAllWays(t, in, lim, rng)
			cut := []int{int(split % uint(len(in)+1))}
			if got := decodeCuts(t, in, cut, lim, true); got != want {
				t.Fatalf("%q cut at %d: %+v; whole: %+v", in, cut[0], got, want)
			}
			if !want.done || want.status != 0 {
				continue
			}
			body := in[:want.n]
			if i := bareLineEnd(body); i >= 0 {
				t.Fatalf("Decode accepts %q, with a bare CR or LF at %d", body, i)
			}
			got, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
			if err != nil {
				if oracleExcuse(body, err) == "" {
					t.Fatalf("Decode accepts %q (payload %q), net/http refuses it: %v", body, want.kept, err)
				}
				continue
			}
			if string(got) != want.kept {
				t.Fatalf("%q: payload %q here, %q in net/http", body, want.kept, got)
			}
		}
	})
}
