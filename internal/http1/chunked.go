package http1

import "math"

// This file decodes the chunked transfer coding (RFC 9112 §7.1):
//
//	chunked-body    = *chunk last-chunk trailer-section CRLF
//	chunk           = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	chunk-size      = 1*HEXDIG
//	last-chunk      = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext       = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	chunk-ext-name  = token
//	chunk-ext-val   = token / quoted-string
//	trailer-section = *( field-line CRLF )
//
// The body arrives in pieces cut anywhere, so the decoder is a state machine
// that looks at one byte at a time and never needs to see a line whole: it
// keeps no copy of anything, and a size line or a trailer field split across
// two reads is judged exactly as if it had come in one. Only chunk-data is
// taken in bulk.
//
// As in the head parser, every line ends in CRLF and nothing else: a bare LF
// where a line could end — after a chunk-size line, after chunk-data, after
// a trailer field, as the final empty line — is refused with 400, and so is
// a bare CR anywhere outside chunk-data. nextLine in parse.go says why
// (RFC 9112 §2.2 and §11.2). Chunk-data is opaque: CR and LF in it are
// payload, as the chunk-size says.

// ChunkedLimits bound what a chunked body may make us read. A zero field
// means "use the default", so ChunkedLimits{} behaves like
// DefaultChunkedLimits.
type ChunkedLimits struct {
	MaxBody         int64 // total payload bytes; more → 413. Default: no limit but int64's
	MaxLineBytes    int   // one chunk-size line with its extensions, without CRLF; longer → 400
	MaxTrailerBytes int   // the trailer section through the final empty line; more → 431
	MaxTrailers     int   // trailer fields; more → 431
}

// DefaultChunkedLimits match Limits: a size line may be as long as
// net/http's, the trailers as large as a head. There is no default MaxBody:
// how large a body may be is the server's policy (serve.Config.MaxBody), and
// the decoder itself holds none of it in memory.
var DefaultChunkedLimits = ChunkedLimits{
	MaxBody:         math.MaxInt64,
	MaxLineBytes:    4 << 10,
	MaxTrailerBytes: 16 << 10,
	MaxTrailers:     maxFieldsInline,
}

// WithDefaults returns l with every zero or negative field set to its default.
func (l ChunkedLimits) WithDefaults() ChunkedLimits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultChunkedLimits.MaxBody
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultChunkedLimits.MaxLineBytes
	}
	if l.MaxTrailerBytes <= 0 {
		l.MaxTrailerBytes = DefaultChunkedLimits.MaxTrailerBytes
	}
	if l.MaxTrailers <= 0 {
		l.MaxTrailers = DefaultChunkedLimits.MaxTrailers
	}
	return l
}

// The reasons Decode refuses a body, shared like those of Parse. Bare CR,
// bare LF, obs-fold and bad trailer fields reuse the head parser's errors.
var (
	errChunkSize     = &Error{400, "malformed chunk size"}
	errChunkOverflow = &Error{400, "chunk size has more than 16 hex digits"}
	errChunkExt      = &Error{400, "malformed chunk extension"}
	errChunkSpace    = &Error{400, "whitespace at the end of a chunk line"}
	errChunkLine     = &Error{400, "chunk size line too long"}
	errChunkData     = &Error{400, "chunk data not followed by CRLF"}
	errBodyTooLarge  = &Error{413, "request body too large"}
	errTrailerSize   = &Error{431, "trailer section too large"}
	errTrailerCount  = &Error{431, "too many trailer fields"}
)

// chunkState is where the decoder stands in the grammar above.
type chunkState uint8

const (
	// The chunk-size line.
	stSizeFirst     chunkState = iota // the first HEXDIG
	stSize                            // more HEXDIG, or what ends the size
	stExtBWS                          // BWS, which only ";" may follow
	stExtNameStart                    // after ";": BWS, then an ext-name
	stExtName                         // in an ext-name
	stExtNameBWS                      // BWS after an ext-name: "=" or ";" must follow
	stExtValStart                     // after "=": BWS, then a token or a quoted-string
	stExtToken                        // in a token ext-val
	stExtQuoted                       // in a quoted-string ext-val
	stExtQuotedPair                   // after a backslash in a quoted-string
	stExtQuoteEnd                     // after the closing DQUOTE
	stSizeLF                          // after the CR that ends the line

	// chunk-data and the CRLF after it.
	stData   // size holds the bytes left
	stDataCR // the CR after the data
	stDataLF // the LF after that CR

	// The trailer section and the final empty line.
	stTrailerStart   // the start of a field line, or of the empty line
	stTrailerName    // in a field name
	stTrailerNameBWS // whitespace after a field name: refused, as soon as we see why
	stTrailerValue   // in a field value, OWS included
	stTrailerLF      // after the CR of a field line
	stEndLF          // after the CR of the final empty line

	stDone
)

// lastLineState is the last state of the chunk-size line.
const lastLineState = stSizeLF

// Chunked decodes one chunked body. It holds a few counters and no pointers,
// so it costs nothing on the heap when embedded in a connection's state.
// The zero value, after Reset, is ready.
type Chunked struct {
	lim      ChunkedLimits
	state    chunkState
	size     uint64 // the chunk-size so far; in stData, the bytes of chunk-data left
	payload  int64  // payload bytes decoded
	line     int    // bytes of the current size line, without CRLF
	trailer  int    // bytes of the trailer section so far
	trailers int    // trailer fields so far
	err      *Error // once refused, always refused
}

// Reset readies c for a new body.
func (c *Chunked) Reset(lim ChunkedLimits) {
	*c = Chunked{lim: lim.WithDefaults()}
}

// Payload returns the payload bytes decoded so far.
func (c *Chunked) Payload() int64 { return c.payload }

// Decode consumes the body's bytes from in, which may be cut anywhere — in
// the middle of a size line, of a CRLF, of the trailers: call it again with
// the bytes that follow. It returns how many bytes of in belong to the body,
// so that once done is true, in[n:] starts the next pipelined request.
//
// done is true once the last-chunk, the trailers and the final empty line
// have been consumed; further calls consume nothing. err is an *Error with
// status 400, 413 or 431, returned as soon as the bytes so far cannot begin
// an acceptable body; n then counts the bytes before the offending one, and
// every later call returns the same error.
//
// If keep is non-nil, payload bytes are appended to *keep. With keep nil,
// Decode never allocates. Extensions and trailer fields are checked, then
// discarded.
func (c *Chunked) Decode(in []byte, keep *[]byte) (n int, done bool, err error) {
	if c.err != nil {
		return 0, false, c.err
	}
	if c.lim.MaxLineBytes <= 0 { // a zero Chunked that was never Reset
		c.lim = c.lim.WithDefaults()
	}
	for n < len(in) && c.state != stDone {
		if c.state == stData {
			n += c.data(in[n:], keep)
			continue
		}
		if e := c.step(in[n]); e != nil {
			c.err = e
			return n, false, e
		}
		n++
	}
	return n, c.state == stDone, nil
}

// data takes as much chunk-data from in as the current chunk has left. Its
// bytes are opaque: CR, LF and NUL are all payload here.
func (c *Chunked) data(in []byte, keep *[]byte) int {
	k := len(in)
	if uint64(k) > c.size {
		k = int(c.size)
	}
	if keep != nil {
		*keep = append(*keep, in[:k]...)
	}
	c.size -= uint64(k)
	c.payload += int64(k)
	if c.size == 0 {
		c.state = stDataCR
	}
	return k
}

// step takes one byte outside chunk-data. The limits are applied before the
// grammar, so an endless line is refused for its length, whatever it holds.
func (c *Chunked) step(b byte) *Error {
	switch {
	case c.state <= lastLineState:
		// RFC 9112 §7.1.1: a server ought to limit the length of chunk
		// extensions and answer 4xx beyond it. Leading zeros count too,
		// or "000…0" would be a line without end.
		if b != '\r' && b != '\n' {
			if c.line++; c.line > c.lim.MaxLineBytes {
				return errChunkLine
			}
		}
		return c.sizeLine(b)
	case c.state <= stDataLF:
		return c.dataEnd(b)
	default:
		// RFC 6585 §5: 431 for header fields too large; trailers are
		// header fields sent late (RFC 9110 §6.5).
		if c.trailer++; c.trailer > c.lim.MaxTrailerBytes {
			return errTrailerSize
		}
		return c.trailerLine(b)
	}
}

// sizeLine takes one byte of a chunk-size line: chunk-size [ chunk-ext ].
func (c *Chunked) sizeLine(b byte) *Error {
	switch c.state {
	case stSizeFirst:
		// 1*HEXDIG and nothing else first: no whitespace, sign or "0x",
		// which some parsers skip and others refuse.
		if !isHex(b) {
			return errChunkSize
		}
		c.state = stSize
		return c.digit(b)
	case stSize:
		if isHex(b) {
			return c.digit(b)
		}
		// The size is all there: refuse it now if the body would grow
		// past MaxBody, rather than read data we will not keep.
		if c.size > uint64(c.lim.MaxBody-c.payload) {
			return errBodyTooLarge // RFC 9110 §15.5.14
		}
		return c.afterExt(b, errChunkSize) // "0x5", "5-", "5\x00"
	case stExtBWS:
		// BWS appears in chunk-ext only before ";" (or around "="), so
		// "5 \r\n" is not chunked coding: refused, where net/http trims it.
		switch b {
		case ' ', '\t':
		case ';':
			c.state = stExtNameStart
		case '\r', '\n':
			return errChunkSpace
		default:
			return errChunkExt
		}
	case stExtNameStart:
		switch {
		case b == ' ' || b == '\t': // BWS after ";"
		case tchar[b]:
			c.state = stExtName // RFC 9112 §7.1.1: ext-name is a token
		default:
			return errChunkExt
		}
	case stExtName:
		switch {
		case tchar[b]:
		case b == '=':
			c.state = stExtValStart
		case b == ' ' || b == '\t':
			c.state = stExtNameBWS
		default:
			return c.afterExt(b, errChunkExt)
		}
	case stExtNameBWS:
		switch b {
		case ' ', '\t':
		case '=':
			c.state = stExtValStart
		case ';':
			c.state = stExtNameStart
		case '\r', '\n':
			return errChunkSpace
		default:
			return errChunkExt
		}
	case stExtValStart:
		switch {
		case b == ' ' || b == '\t': // BWS after "="
		case b == '"':
			c.state = stExtQuoted
		case tchar[b]:
			c.state = stExtToken
		default:
			return errChunkExt // an empty value is neither token nor quoted-string
		}
	case stExtToken:
		if !tchar[b] {
			return c.afterExt(b, errChunkExt)
		}
	case stExtQuoted:
		// RFC 9110 §5.6.4: qdtext is HTAB, SP, VCHAR but DQUOTE and
		// backslash, and obs-text — fieldValueChar less those two.
		switch {
		case b == '"':
			c.state = stExtQuoteEnd
		case b == '\\':
			c.state = stExtQuotedPair
		case !fieldValueChar[b]:
			return errChunkExt // control bytes, CR and LF above all
		}
	case stExtQuotedPair:
		// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): exactly
		// fieldValueChar, so no escaped CR, LF or NUL.
		if !fieldValueChar[b] {
			return errChunkExt
		}
		c.state = stExtQuoted
	case stExtQuoteEnd:
		return c.afterExt(b, errChunkExt)
	case stSizeLF:
		if b != '\n' {
			return errBareCR
		}
		c.endSizeLine()
	}
	return nil
}

// digit adds one HEXDIG to the chunk-size. RFC 9112 §7.1 asks recipients to
// guard against overflow: a 17th significant digit would not fit in 64
// bits. Leading zeros add nothing and are bounded by MaxLineBytes instead.
func (c *Chunked) digit(b byte) *Error {
	if c.size>>60 != 0 {
		return errChunkOverflow
	}
	c.size = c.size<<4 | uint64(unhex(b))
	return nil
}

func unhex(b byte) byte {
	switch {
	case b <= '9':
		return b - '0'
	case b >= 'a':
		return b - 'a' + 10
	default:
		return b - 'A' + 10
	}
}

// afterExt takes the byte after a chunk-size or a whole extension: BWS before
// the next ";", the ";" itself, or the end of the line. Anything else — a
// control byte, a "=" after a value, a stray quote — is refused with bad.
func (c *Chunked) afterExt(b byte, bad *Error) *Error {
	switch b {
	case ' ', '\t':
		c.state = stExtBWS
	case ';':
		c.state = stExtNameStart
	case '\r':
		c.state = stSizeLF
	case '\n':
		return errBareLF // lines end in CRLF only; see nextLine
	default:
		return bad
	}
	return nil
}

// endSizeLine starts the chunk-data, or, after the last-chunk (a size of
// zero), the trailer section. Extensions were validated and are ignored, as
// RFC 9112 §7.1.1 says a recipient MUST do with those it does not know.
func (c *Chunked) endSizeLine() {
	c.line = 0
	if c.size == 0 {
		c.state = stTrailerStart
		return
	}
	c.state = stData
}

// dataEnd takes the CRLF that must follow chunk-data (RFC 9112 §7.1). Any
// other byte means the data was longer than its size said, which is exactly
// the ambiguity smuggling feeds on: refused, never skipped. A bare LF is
// refused too (see nextLine), though a payload CR may come just before it:
// the size said where the data ended, and the CRLF starts there.
func (c *Chunked) dataEnd(b byte) *Error {
	switch {
	case c.state == stDataCR && b == '\r':
		c.state = stDataLF
	case c.state == stDataCR && b == '\n':
		return errBareLF
	case c.state == stDataCR:
		return errChunkData
	case b != '\n':
		return errBareCR
	default:
		c.state = stSizeFirst
		c.size = 0
	}
	return nil
}

// trailerLine takes one byte of the trailer section (RFC 9112 §7.1.2):
// field lines like a head's, then the empty line that ends the body. The
// rules are parseFieldLine's; the fields are checked and then discarded,
// which §7.1.2 allows, so a trailer can never pose as a header field
// (RFC 9110 §6.5.1).
func (c *Chunked) trailerLine(b byte) *Error {
	switch c.state {
	case stTrailerStart:
		switch {
		case b == '\r':
			c.state = stEndLF
		case b == '\n':
			return errBareLF // see nextLine
		case b == ' ' || b == '\t':
			// RFC 9112 §5.2: obs-fold, refused as in a head. On the first
			// line there is nothing to fold into; it is refused all the same.
			return errObsFold
		case !tchar[b]:
			return errFieldName
		default:
			if c.trailers++; c.trailers > c.lim.MaxTrailers {
				return errTrailerCount // RFC 6585 §5
			}
			c.state = stTrailerName
		}
	case stTrailerName:
		switch {
		case tchar[b]:
		case b == ':':
			c.state = stTrailerValue
		case b == ' ' || b == '\t':
			c.state = stTrailerNameBWS
		default:
			return errFieldName // a line without a colon, too
		}
	case stTrailerNameBWS:
		switch b {
		case ' ', '\t':
		case ':':
			return errSpaceColon // RFC 9112 §5.1: MUST be answered 400
		default:
			return errFieldName
		}
	case stTrailerValue:
		// OWS and field-value together: the bytes of fieldValueChar.
		switch {
		case b == '\r':
			c.state = stTrailerLF
		case b == '\n':
			return errBareLF // see nextLine
		case !fieldValueChar[b]:
			return errFieldValue // RFC 9110 §5.5
		}
	case stTrailerLF:
		if b != '\n' {
			return errBareCR
		}
		c.state = stTrailerStart
	case stEndLF:
		if b != '\n' {
			return errBareCR
		}
		c.state = stDone
	}
	return nil
}
