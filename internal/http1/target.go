package http1

import "bytes"

// rootPath is the Path of an absolute-form target with no path, such as
// "http://example.com": RFC 9112 §3.2.1 says "/" is meant.
var rootPath = []byte("/")

// parseTarget sorts req.Target into one of the four forms of RFC 9112 §3.2
// and fills Path, Query and, where the target carries one, Authority. A form
// the method may not use is refused.
func parseTarget(req *Request) error {
	t := req.Target
	switch {
	case len(t) == 0:
		return errRequestLine
	case string(req.Method) == "CONNECT":
		// RFC 9112 §3.2.3: CONNECT uses authority-form, and only CONNECT does.
		return parseAuthorityForm(req)
	case t[0] == '/':
		return parseOriginForm(req)
	case len(t) == 1 && t[0] == '*':
		// RFC 9112 §3.2.4: asterisk-form is only used for a server-wide OPTIONS.
		if string(req.Method) != "OPTIONS" {
			return errTargetForm
		}
		req.Path = t
		return nil
	default:
		return parseAbsoluteForm(req)
	}
}

// origin-form = absolute-path [ "?" query ] (RFC 9112 §3.2.1).
func parseOriginForm(req *Request) error {
	if !validEncoded(req.Target, pathQueryChar, false) {
		return errTargetByte
	}
	req.Path, req.Query = splitQuery(req.Target)
	return nil
}

// absolute-form = absolute-URI (RFC 9112 §3.2.2). Proxies are sent this form,
// and a server MUST accept it too. We serve only http and https URIs, whose
// authority must name a host (RFC 9110 §4.2.1, §4.2.2).
func parseAbsoluteForm(req *Request) error {
	var rest []byte
	switch {
	case hasPrefixFold(req.Target, "http://"):
		rest = req.Target[len("http://"):]
	case hasPrefixFold(req.Target, "https://"):
		rest = req.Target[len("https://"):]
	default:
		return errTargetForm
	}
	end := len(rest)
	if i := bytes.IndexAny(rest, "/?"); i >= 0 {
		end = i
	}
	authority, pathQuery := rest[:end], rest[end:]
	if err := checkAuthority(authority, true, false, errTargetAuth); err != nil {
		return err
	}
	if !validEncoded(pathQuery, pathQueryChar, false) {
		return errTargetByte
	}
	req.Authority = authority
	req.Path, req.Query = splitQuery(pathQuery)
	if len(req.Path) == 0 {
		req.Path = rootPath
	}
	return nil
}

// authority-form = uri-host ":" port (RFC 9112 §3.2.3): both parts required.
func parseAuthorityForm(req *Request) error {
	if err := checkAuthority(req.Target, true, true, errTargetAuth); err != nil {
		return err
	}
	req.Authority = req.Target
	return nil
}

// splitQuery splits a target at its first "?"; query is nil if there is none.
func splitQuery(pathQuery []byte) (path, query []byte) {
	if i := bytes.IndexByte(pathQuery, '?'); i >= 0 {
		return pathQuery[:i], pathQuery[i+1:]
	}
	return pathQuery, nil
}

// checkAuthority validates uri-host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3),
// the shape of both the Host field and the authority of an http URI, and
// returns bad if it is invalid. RFC 9110 §4.2.4 forbids userinfo in http
// URIs ("user@host" is a phishing trick), so "@" gets a reason of its own.
func checkAuthority(s []byte, needHost, needPort bool, bad *Error) error {
	host, port, ok := splitHostPort(s)
	if !ok && bytes.IndexByte(s, '@') >= 0 { // "@" is never valid in either part
		return errUserinfo
	}
	if !ok || needHost && len(host) == 0 || needPort && len(port) == 0 {
		return bad
	}
	return nil
}

// splitHostPort splits uri-host [ ":" port ] and reports whether both parts
// use only the bytes their grammar allows. port is empty when absent; RFC 3986
// allows "host:" with an empty port, so ok is true then too.
func splitHostPort(s []byte) (host, port []byte, ok bool) {
	if len(s) > 0 && s[0] == '[' { // IP-literal
		end := bytes.IndexByte(s, ']')
		if end < 0 || !validIPv6(s[1:end]) {
			return nil, nil, false
		}
		host, port = s[:end+1], s[end+1:]
		if len(port) > 0 {
			if port[0] != ':' {
				return nil, nil, false
			}
			port = port[1:]
		}
	} else { // IPv4address or reg-name; neither contains ":"
		// RFC 3986 lets a reg-name hold pct-encoded bytes, but DNS names
		// never need them (IDNs travel as "xn--" punycode), while "%2F" or
		// "%00" in a host only ever serves to confuse; so "%" is refused.
		host = s
		for i, b := range s {
			if !regNameChar[b] {
				if b != ':' {
					return nil, nil, false
				}
				host, port = s[:i], s[i+1:]
				break
			}
		}
	}
	return host, port, allDigits(port)
}

// validIPv6 reports whether s is an IPv6address (RFC 3986 §3.2.2): eight
// groups of 1–4 hex digits joined by ":", where one "::" stands for one or
// more zero groups and the last two groups may be written as an IPv4
// address. IPvFuture, the other IP-literal, has never been used; it and
// zone identifiers (RFC 6874) are refused rather than half-checked.
func validIPv6(s []byte) bool {
	groups, ellipsis := 0, false
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis, s = true, s[2:]
	}
	for len(s) > 0 {
		n := 0
		for n < len(s) && n <= 4 && isHex(s[n]) {
			n++
		}
		if n < len(s) && s[n] == '.' { // the IPv4 tail ends the address
			if !validIPv4(s) {
				return false
			}
			groups += 2
			break
		}
		if n == 0 || n > 4 {
			return false
		}
		groups++
		s = s[n:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return false // a group must follow a single ":"
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis {
				return false // only one "::"
			}
			ellipsis, s = true, s[1:]
		}
	}
	if ellipsis {
		return groups < 8
	}
	return groups == 8
}

// validIPv4 reports whether s is IPv4address = dec-octet "." dec-octet "."
// dec-octet "." dec-octet (RFC 3986 §3.2.2); a dec-octet is 0–255 without
// leading zeros.
func validIPv4(s []byte) bool {
	for i := range 4 {
		if i > 0 {
			if len(s) == 0 || s[0] != '.' {
				return false
			}
			s = s[1:]
		}
		n, v := 0, 0
		for n < len(s) && n < 3 && isDigit(s[n]) {
			v = v*10 + int(s[n]-'0')
			n++
		}
		if n == 0 || v > 255 || n > 1 && s[0] == '0' {
			return false
		}
		s = s[n:]
	}
	return len(s) == 0
}
