package http1

// headState gathers what the fields that shape framing and the connection
// said. Some rules — "chunked must come last", "Host is required" — can only
// be judged once the whole head is in, which finish does.
type headState struct {
	hasHost   bool
	hasTE     bool // a Transfer-Encoding field was present
	chunked   bool // the codings so far end in chunked
	otherTE   bool // a coding other than chunked was listed
	close     bool // Connection lists "close"
	keepAlive bool // Connection lists "keep-alive"
}

// note takes one field into account as soon as it is parsed, so a bad field
// is refused before the rest of the head arrives.
func (st *headState) note(req *Request, name, value []byte) error {
	switch {
	case equalFold(name, "Host"):
		return st.noteHost(req, value)
	case equalFold(name, "Content-Length"):
		return noteContentLength(req, value)
	case equalFold(name, "Transfer-Encoding"):
		return st.noteTransferEncoding(req, value)
	case equalFold(name, "Connection"):
		st.noteConnection(value)
	case equalFold(name, "Expect"):
		// RFC 9110 §10.1.1: a server MUST ignore 100-continue from an
		// HTTP/1.0 client, which would not understand a 100 response.
		// Other expectations are left for the server to answer 417.
		if req.Minor == 1 && equalFold(value, "100-continue") {
			req.Expect100 = true
		}
	case hasPrefixFold(name, "If-"), equalFold(name, "Range"):
		req.plain = false
	}
	return nil
}

// noteHost: RFC 9112 §3.2 — a server MUST answer 400 to an HTTP/1.1 request
// with no Host, to any request with more than one, and to an invalid one.
// The value may be empty, for a target without an authority.
func (st *headState) noteHost(req *Request, value []byte) error {
	if st.hasHost {
		return errTwoHosts
	}
	st.hasHost = true
	if err := checkAuthority(value, false, false, errHost); err != nil {
		return err
	}
	req.Host = value
	return nil
}

// noteContentLength: Content-Length = 1*DIGIT (RFC 9110 §8.6). A repeated
// field or a list such as "5, 5" is accepted, as §8.6 allows, only when every
// value is the same; anything else leaves the length unknowable (RFC 9112
// §6.3), and a proxy in front of us may have picked another value.
func noteContentLength(req *Request, value []byte) error {
	for more := true; more; {
		var elem []byte
		elem, value, more = cutElement(value)
		n, ok := parseContentLength(elem)
		if !ok {
			return errContentLength
		}
		if req.ContentLength >= 0 && n != req.ContentLength {
			return errContentLengths
		}
		req.ContentLength = n
	}
	return nil
}

// parseContentLength parses 1*DIGIT without sign or spaces. At most 18
// digits fit in an int64 without any overflow check, and 10^18 bytes is
// more than any body we will ever read.
func parseContentLength(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, b := range s {
		if !isDigit(b) {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, true
}

// noteTransferEncoding reads the list of transfer codings (RFC 9112 §6.1),
// across all Transfer-Encoding fields, case-insensitively.
func (st *headState) noteTransferEncoding(req *Request, value []byte) error {
	// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
	if req.Minor == 0 {
		return errTE10
	}
	st.hasTE = true
	for more := true; more; {
		var coding []byte
		coding, value, more = cutElement(value)
		if len(coding) == 0 {
			continue // RFC 9110 §5.6.1: empty list elements are ignored
		}
		// Nothing may follow chunked, not even a second chunked (RFC 9112
		// §6.1): the body's end would then be in doubt.
		if st.chunked {
			return errChunkedLast
		}
		if equalFold(coding, "chunked") {
			st.chunked = true
		} else {
			st.otherTE = true
		}
	}
	return nil
}

// noteConnection reads the connection options (RFC 9110 §7.6.1). Only close
// and keep-alive matter here; other options are ignored.
func (st *headState) noteConnection(value []byte) {
	for more := true; more; {
		var option []byte
		option, value, more = cutElement(value)
		switch {
		case equalFold(option, "close"):
			st.close = true
		case equalFold(option, "keep-alive"):
			st.keepAlive = true
		}
	}
}

// finish applies the rules that need the whole head.
func (st *headState) finish(req *Request) error {
	if req.Minor == 1 && !st.hasHost {
		return errNoHost // RFC 9112 §3.2
	}
	if st.hasTE {
		// RFC 9112 §6.3: both together "ought to be handled as an error";
		// it is the textbook smuggling request.
		if req.ContentLength >= 0 {
			return errTEAndCL
		}
		// RFC 9112 §6.3: if chunked is not the final coding, the body's
		// length cannot be known: MUST answer 400. That MUST outranks the
		// SHOULD of 501 for codings we do not implement (§6.1), so
		// "gzip" alone is 400 and "gzip, chunked" is 501.
		if !st.chunked {
			return errChunkedLast
		}
		if st.otherTE {
			return errTECoding
		}
		req.Chunked = true
	}
	// RFC 9112 §9.3: HTTP/1.1 connections persist unless closed;
	// HTTP/1.0 connections close unless the client asked for keep-alive.
	req.Close = st.close || req.Minor == 0 && !st.keepAlive
	if req.Authority == nil {
		req.Authority = req.Host // RFC 9112 §3.3: the target's authority wins
	}
	return nil
}
