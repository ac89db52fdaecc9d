package http1

import (
	"strconv"
	"time"
)

// StatusText returns the reason phrase of a status code RFC 9110 §15
// registers (and 103, 418, 429 and 451, which others do), or "" for any
// other code (RFC 9112 §4: the reason-phrase may be empty). rawserve sends
// a few of its own accord; -faults' status/{code} sends any.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 305:
		return "Use Proxy"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 451:
		return "Unavailable For Legal Reasons"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// Head is what a response head needs. Zero values mean "omit", except
// ContentLength, where 0 is a real length and a negative value omits it.
type Head struct {
	Status      int
	ContentType string
	// Boundary, if set, makes the body multipart/byteranges (RFC 9110
	// §14.6): Content-Type says so, with this boundary, instead of
	// ContentType, which is then the parts' own.
	Boundary      []byte
	ContentLength int64     // < 0 omits the field; never written for 1xx and 204
	Close         bool      // write "Connection: close"
	KeepAlive10   bool      // write "Connection: keep-alive", for an HTTP/1.0 client that asked
	Allow         string    // for 405 and OPTIONS
	Location      string    // for redirects
	LastModified  time.Time // omitted when zero; written as an IMF-fixdate
	// LastModifiedText, when set, is LastModified already written
	// (AppendIMFFixdate), for a head composed again and again.
	LastModifiedText []byte

	ETag         []byte // a whole entity-tag, quotes included, as AppendETag makes it
	AcceptRanges bool   // write "Accept-Ranges: bytes" (RFC 9110 §14.3)

	// Content-Range (RFC 9110 §14.4) is written in one of two forms, and
	// omitted when neither applies:
	//
	//   - ContentRange non-empty: "bytes Start-(End-1)/RangeSize", the
	//     range a 206 carries. Written only if 0 <= Start < End <=
	//     RangeSize: a range outside the representation is a bug, and
	//     sending it would corrupt whatever the client stitches together.
	//   - RangeUnsatisfied: "bytes */RangeSize", which a 416 SHOULD carry
	//     to tell the client the current length (§15.5.17). A flag and not
	//     a sentinel size, because an empty representation's 416 is
	//     "bytes */0".
	ContentRange     Range
	RangeSize        int64 // the complete length of the representation
	RangeUnsatisfied bool
}

// AppendHead appends the status line, Date (unless date is empty), Server,
// the fields h asks for, and the empty line that ends the head. It does not
// allocate when dst has room.
func AppendHead(dst []byte, h *Head, date []byte) []byte {
	status := h.Status
	if status < 100 || status > 999 {
		// status-code is 3DIGIT (RFC 9112 §4); anything else is a bug in
		// the server, and the honest answer to that is 500.
		status = 500
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	dst = append(dst, "\r\n"...)

	if len(date) > 0 {
		dst = append(dst, "Date: "...)
		dst = append(dst, date...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Server: rawserve\r\n"...)
	if len(h.Boundary) > 0 {
		dst = appendField(dst, "Content-Type: multipart/byteranges; boundary=", h.Boundary)
	} else {
		dst = appendField(dst, "Content-Type: ", h.ContentType)
	}
	// RFC 9110 §8.6: a server MUST NOT send Content-Length in a 1xx or
	// 204 response, whatever the caller filled in.
	if h.ContentLength >= 0 && status >= 200 && status != 204 {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, h.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	switch {
	case len(h.LastModifiedText) > 0:
		dst = append(dst, "Last-Modified: "...)
		dst = append(dst, h.LastModifiedText...)
		dst = append(dst, "\r\n"...)
	case !h.LastModified.IsZero():
		dst = append(dst, "Last-Modified: "...)
		dst = AppendIMFFixdate(dst, h.LastModified)
		dst = append(dst, "\r\n"...)
	}
	dst = appendField(dst, "Location: ", h.Location)
	dst = appendField(dst, "Allow: ", h.Allow)
	switch {
	case h.Close:
		dst = append(dst, "Connection: close\r\n"...)
	case h.KeepAlive10:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	dst = appendField(dst, "ETag: ", h.ETag)
	if h.AcceptRanges {
		dst = append(dst, "Accept-Ranges: bytes\r\n"...)
	}
	dst = appendContentRange(dst, h)
	return append(dst, "\r\n"...)
}

// appendContentRange writes Content-Range as Head describes it: the complete
// length after the "/", and before it either the inclusive first and last
// byte positions of the range sent or, for an unsatisfied range, "*".
func appendContentRange(dst []byte, h *Head) []byte {
	rg := h.ContentRange
	switch {
	case rg.Start < rg.End:
		if rg.Start < 0 || rg.End > h.RangeSize {
			return dst
		}
		dst = append(dst, "Content-Range: bytes "...)
		dst = strconv.AppendInt(dst, rg.Start, 10)
		dst = append(dst, '-')
		dst = strconv.AppendInt(dst, rg.End-1, 10)
	case h.RangeUnsatisfied && h.RangeSize >= 0:
		dst = append(dst, "Content-Range: bytes *"...)
	default:
		return dst
	}
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, h.RangeSize, 10)
	return append(dst, "\r\n"...)
}

// appendField appends prefix, value and CRLF, or nothing if value is empty.
// Values can come from a request (a Location built from its path, say), so
// every control byte but HTAB is written as SP: a CR or LF let through here
// would let a client inject fields of its own ("response splitting"). RFC
// 9110 §5.5 allows a recipient the same replacement.
func appendField[T string | []byte](dst []byte, prefix string, value T) []byte {
	if len(value) == 0 {
		return dst
	}
	dst = append(dst, prefix...)
	for i := 0; i < len(value); i++ {
		b := value[i]
		if b < ' ' && b != '\t' || b == 0x7F {
			b = ' '
		}
		dst = append(dst, b)
	}
	return append(dst, "\r\n"...)
}
