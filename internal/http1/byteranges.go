package http1

// Byteranges is a multipart/byteranges body (RFC 9110 §14.6): one part per
// range, each with the representation's Content-Type and its own
// Content-Range, between delimiters made of a boundary (RFC 2046 §5.1.1).
// For ranges 0-1 and 5-6 of a 1000-byte text file:
//
//	--rawserve-3f9c0d7e5a1b2c48
//	Content-Type: text/plain; charset=utf-8
//	Content-Range: bytes 0-1/1000
//
//	01
//	--rawserve-3f9c0d7e5a1b2c48
//	Content-Type: text/plain; charset=utf-8
//	Content-Range: bytes 5-6/1000
//
//	56
//	--rawserve-3f9c0d7e5a1b2c48--
//
// Every line ends in CRLF, and the CRLF before a delimiter belongs to it, not
// to the part's bytes. The part heads are written here; the parts' bytes are
// the caller's to send, from memory or with sendfile(2) from the file, in
// between. Length tells the whole body's length before any of it is written,
// so the response carries Content-Length rather than being chunked.
type Byteranges struct {
	Boundary    []byte // see AppendBoundary; Head.Boundary names it in the response's Content-Type
	ContentType string // the representation's, repeated in every part
	Size        int64  // the representation's complete length
	Ranges      []Range
}

// BoundaryLen is the length of the boundaries AppendBoundary makes.
const BoundaryLen = len("rawserve-") + 16

// AppendBoundary appends a boundary made from the random number r:
// "rawserve-" and r in 16 hex digits. RFC 2046 §5.1.1 says a boundary must
// not occur in the parts it separates. The parts here are bytes of a file,
// which may hold anything, a boundary of ours included, so the boundary is
// chosen afresh for every response: no file's author can foresee it.
func AppendBoundary(dst []byte, r uint64) []byte {
	dst = append(dst, "rawserve-"...)
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, "0123456789abcdef"[r>>shift&0xF])
	}
	return dst
}

// AppendPartHead appends what comes before the bytes of part i: its
// delimiter (after a CRLF, except for the first), its fields and the empty
// line.
func (b *Byteranges) AppendPartHead(dst []byte, i int) []byte {
	if i > 0 {
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "--"...)
	dst = append(dst, b.Boundary...)
	dst = append(dst, "\r\n"...)
	dst = appendField(dst, "Content-Type: ", b.ContentType)
	dst = appendContentRange(dst, &Head{ContentRange: b.Ranges[i], RangeSize: b.Size})
	return append(dst, "\r\n"...)
}

// AppendEnd appends the close delimiter that ends the body.
func (b *Byteranges) AppendEnd(dst []byte) []byte {
	dst = append(dst, "\r\n--"...)
	dst = append(dst, b.Boundary...)
	return append(dst, "--\r\n"...)
}

// AppendBody appends the whole body, the parts' bytes taken from content,
// the whole representation.
func (b *Byteranges) AppendBody(dst, content []byte) []byte {
	for i, rg := range b.Ranges {
		dst = b.AppendPartHead(dst, i)
		dst = append(dst, content[rg.Start:rg.End]...)
	}
	return b.AppendEnd(dst)
}

// Length is the length of the body in bytes. The part heads are written
// into a buffer on the stack to be measured, so that what is counted is
// exactly what is sent (a head longer than the buffer, from a very long
// Content-Type, would make append allocate, and still be counted right).
func (b *Byteranges) Length() int64 {
	var scratch [512]byte
	n := int64(len(b.AppendEnd(scratch[:0])))
	for i, rg := range b.Ranges {
		n += int64(len(b.AppendPartHead(scratch[:0], i))) + rg.End - rg.Start
	}
	return n
}
