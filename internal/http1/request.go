package http1

import (
	"errors"
	"strconv"
)

// Limits bound what a client can make us buffer. A zero field means "use the
// default" so that Limits{} behaves like DefaultLimits.
type Limits struct {
	MaxRequestLine int // longest request line, without its CRLF; longer → 414
	MaxHeaderBytes int // the whole head, from the first byte through the empty line; more → 431
	MaxHeaders     int // most header fields; more → 431
}

// maxFieldsInline is how many fields a Request holds without allocating.
const maxFieldsInline = 100

// DefaultLimits are generous for any browser and small enough that a slow
// or hostile client cannot pin much memory per connection.
var DefaultLimits = Limits{
	MaxRequestLine: 8 << 10,
	MaxHeaderBytes: 16 << 10,
	MaxHeaders:     maxFieldsInline,
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultLimits.MaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultLimits.MaxHeaders
	}
	return l
}

// Error is a request the server must refuse. Status is the code to answer
// with: 400, 414, 431, 501 or 505. After any Error the caller closes the
// connection, because it can no longer tell where the next request starts.
//
// Parse returns shared *Error values; do not modify them.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string {
	return "http1: " + strconv.Itoa(e.Status) + " " + e.Reason
}

// ErrIncomplete means the buffer holds the valid beginning of a head that has
// not ended yet: read more bytes and call Parse again.
var ErrIncomplete = errors.New("http1: request head incomplete")

// Field is one header field line. Both slices point into the caller's buffer.
type Field struct {
	Name, Value []byte
}

// Request is a parsed request head. Every []byte points into the buffer given
// to Parse and is valid only as long as that buffer is. Reuse one Request per
// connection and do not copy it: Fields points into the Request itself.
type Request struct {
	Method []byte // a token, case-sensitive (RFC 9110 §9.1); not judged here
	Target []byte // the request-target exactly as sent

	// Path is still percent-encoded. origin-form: Target up to "?".
	// absolute-form: the path after the authority, "/" if there is none.
	// asterisk-form: "*". authority-form (CONNECT): nil — it has no path.
	Path []byte

	Query     []byte // after "?", without it; nil when there is no "?"
	Authority []byte // from an absolute- or authority-form Target, else the Host value
	Host      []byte // the Host field value; nil if absent

	// The version the request is processed as: always 1.0 or 1.1. A
	// higher minor version is processed as 1.1 (RFC 9110 §2.5); SentMinor
	// is the one the request line holds, 0 to 9, for the access log.
	Major, Minor int
	SentMinor    int

	Fields []Field // all header fields, in the order received

	ContentLength int64 // -1 when absent
	Chunked       bool  // Transfer-Encoding is chunked
	Close         bool  // close the connection after the response
	Expect100     bool  // Expect: 100-continue, on an HTTP/1.1 request

	// plain: Parse saw no field that can make a GET conditional or
	// partial (If-*, Range), so Preconditions and RangeFor need not look.
	// A Request made by hand is never plain: its fields are read.
	plain bool

	fields [maxFieldsInline]Field // storage behind Fields
}

// reset clears r for the next Parse but keeps its field storage, so a reused
// Request never allocates.
func (r *Request) reset() {
	fields := r.Fields[:0]
	if cap(fields) == 0 {
		fields = r.fields[:0]
	}
	r.Method, r.Target, r.Path, r.Query, r.Authority, r.Host = nil, nil, nil, nil, nil, nil
	r.Major, r.Minor, r.SentMinor = 0, 0, 0
	r.Fields = fields
	r.ContentLength = -1
	r.Chunked, r.Close, r.Expect100 = false, false, false
	r.plain = true
}

// Header returns the value of the first field called name, compared
// case-insensitively (RFC 9110 §5.1), or nil if there is none.
func (r *Request) Header(name string) []byte {
	for i := range r.Fields {
		if equalFold(r.Fields[i].Name, name) {
			return r.Fields[i].Value
		}
	}
	return nil
}

// Elements calls fn with each element of the comma-separated lists in every
// field line called name, compared case-insensitively, in the order they were
// received (RFC 9110 §5.6.1). Each element has its OWS trimmed; empty
// elements are skipped, as a recipient MUST accept and ignore them. It stops
// as soon as fn returns false.
//
// A comma inside a quoted-string does not end an element, and inside one a
// backslash escapes the next byte (quoted-pair, RFC 9110 §5.6.4), so
// `a="x, y", b` is two elements. Entity-tags look alike but are not
// quoted-strings: etagc includes both "," and "\" and there is no quoted-pair
// (§8.8.3), so If-Match and If-None-Match are read by their own scanner in
// conditional.go.
func (r *Request) Elements(name string, fn func(elem []byte) bool) {
	for i := range r.Fields {
		if !equalFold(r.Fields[i].Name, name) {
			continue
		}
		for list := r.Fields[i].Value; len(list) > 0; {
			var elem []byte
			elem, list = cutQuotedElement(list)
			if len(elem) > 0 && !fn(elem) {
				return
			}
		}
	}
}

// cutQuotedElement is cutElement that skips commas inside quoted-strings. A
// quote left open runs to the end of the line: a field line is one value, and
// a quoted-string never spans two.
func cutQuotedElement(list []byte) (elem, rest []byte) {
	quoted := false
	for i := 0; i < len(list); i++ {
		switch b := list[i]; {
		case quoted && b == '\\':
			i++ // quoted-pair: the next byte is literal, even a DQUOTE
		case b == '"':
			quoted = !quoted
		case b == ',' && !quoted:
			return trimOWS(list[:i]), list[i+1:]
		}
	}
	return trimOWS(list), nil
}

// The reasons Parse refuses a request. They are shared values so that refusing
// a request allocates nothing either.
var (
	errBareCR         = &Error{400, "bare CR without LF"}
	errBareLF         = &Error{400, "bare LF: lines end in CRLF"}
	errRequestLine    = &Error{400, "malformed request line"}
	errMethod         = &Error{400, "method is not a token"}
	errTargetByte     = &Error{400, "invalid byte in request-target"}
	errTargetForm     = &Error{400, "request-target form not allowed for this method"}
	errTargetAuth     = &Error{400, "invalid authority in request-target"}
	errUserinfo       = &Error{400, "userinfo not allowed in authority"}
	errVersion        = &Error{400, "malformed HTTP-version"}
	errFieldName      = &Error{400, "field name is not a token"}
	errSpaceColon     = &Error{400, "whitespace between field name and colon"}
	errObsFold        = &Error{400, "obsolete line folding"}
	errFieldValue     = &Error{400, "invalid byte in field value"}
	errNoHost         = &Error{400, "missing Host"}
	errTwoHosts       = &Error{400, "more than one Host"}
	errHost           = &Error{400, "invalid Host"}
	errContentLength  = &Error{400, "invalid Content-Length"}
	errContentLengths = &Error{400, "conflicting Content-Length values"}
	errTE10           = &Error{400, "Transfer-Encoding in an HTTP/1.0 request"}
	errTEAndCL        = &Error{400, "both Transfer-Encoding and Content-Length"}
	errChunkedLast    = &Error{400, "chunked is not the final transfer coding, or appears twice"}
	errTECoding       = &Error{501, "unsupported transfer coding"}
	errLineTooLong    = &Error{414, "request line too long"}
	errHeadTooLarge   = &Error{431, "request head too large"}
	errTooManyFields  = &Error{431, "too many header fields"}
	errHTTPVersion    = &Error{505, "HTTP version not supported"}
)
