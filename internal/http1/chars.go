package http1

// A byteSet says which bytes a piece of grammar allows: set[b] is true when b
// is allowed. A table makes each test one indexed load, and each definition
// below reads like the ABNF it comes from.
type byteSet [256]bool

func makeSet(groups ...string) *byteSet {
	var s byteSet
	for _, g := range groups {
		for i := 0; i < len(g); i++ {
			s[g[i]] = true
		}
	}
	return &s
}

const (
	alpha      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	digits     = "0123456789"
	unreserved = alpha + digits + "-._~" // RFC 3986 §2.3
	subDelims  = "!$&'()*+,;="           // RFC 3986 §2.2
)

var (
	// tchar: the bytes of a token — methods, field names, codings (RFC 9110 §5.6.2).
	tchar = makeSet(alpha, digits, "!#$%&'*+-.^_`|~")

	// pathQueryChar: pchar, "/" and "?" — everything a path and query may
	// hold (RFC 3986 §3.3, §3.4) except the "%" of a pct-encoded triplet,
	// which validEncoded checks on its own.
	pathQueryChar = makeSet(unreserved, subDelims, ":@/?")

	// targetChar adds "[" and "]", which appear in a request-target only
	// around an IP-literal host (RFC 3986 §3.2.2). Used to judge a target
	// that has not fully arrived and whose form is not known yet.
	targetChar = makeSet(unreserved, subDelims, ":@/?[]")

	// regNameChar: a host name or IPv4 address (RFC 3986 §3.2.2 reg-name).
	regNameChar = makeSet(unreserved, subDelims)

	// fieldValueChar: VCHAR, obs-text, SP and HTAB (RFC 9110 §5.5). Every
	// other control byte, CR, LF and NUL above all, is refused.
	fieldValueChar = makeFieldValueSet()
)

func makeFieldValueSet() *byteSet {
	var s byteSet
	for b := 0x21; b <= 0xFF; b++ {
		s[b] = b != 0x7F // DEL is the one control byte above SP
	}
	s[' '], s['\t'] = true, true
	return &s
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func isHex(b byte) bool {
	return isDigit(b) || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// allIn reports whether every byte of s is in set.
func allIn(s []byte, set *byteSet) bool {
	for _, b := range s {
		if !set[b] {
			return false
		}
	}
	return true
}

func isToken(s []byte) bool { return len(s) > 0 && allIn(s, tchar) }

func allDigits(s []byte) bool {
	for _, b := range s {
		if !isDigit(b) {
			return false
		}
	}
	return true
}

// validEncoded reports whether each byte of s is in set or begins a
// pct-encoded triplet, "%" HEXDIG HEXDIG (RFC 3986 §2.1). When partial is
// true, s may end inside a triplet, because the rest has yet to arrive.
// Nothing is decoded: that is the job of whoever maps the path to a file.
func validEncoded(s []byte, set *byteSet, partial bool) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			if !set[s[i]] {
				return false
			}
			continue
		}
		for k := 1; k <= 2; k++ {
			if i+k == len(s) {
				return partial
			}
			if !isHex(s[i+k]) {
				return false
			}
		}
		i += 2
	}
	return true
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

// equalFold reports whether b and s are equal ignoring ASCII case. Field
// names, connection options, expectations and transfer codings are
// case-insensitive (RFC 9110 §5.1, §7.6.1, §10.1.1; RFC 9112 §7);
// bytes.EqualFold would also fold Unicode, which HTTP never does.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// trimOWS strips optional whitespace, *( SP / HTAB ) (RFC 9110 §5.6.3).
func trimOWS(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// cutElement splits the first element off a comma-separated list (RFC 9110
// §5.6.1), trimming OWS around it. more is false once list is used up.
func cutElement(list []byte) (elem, rest []byte, more bool) {
	for i, b := range list {
		if b == ',' {
			return trimOWS(list[:i]), list[i+1:], true
		}
	}
	return trimOWS(list), nil, false
}
