package sock

import (
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Addr is an IP address and port: what bind(2) and accept4(2) speak, parsed
// and printed without package net, so that a reader can see every byte of
// the conversion.
//
// An IPv4 address lives in IP[0:4] with IP[4:16] zero. That is the layout of
// unix.SockaddrInet4 (a plain copy each way), and it keeps 1.2.3.4 distinct
// from the IPv4-mapped ::ffff:1.2.3.4 (Is6 true, all 16 bytes used), which
// is a different socket family and is what a dual-stack listener reports for
// an IPv4 peer. With unused bytes always zero, == compares Addrs by meaning.
type Addr struct {
	IP  [16]byte
	Is6 bool

	// Wildcard records that no host was given (":8080"). Its IP is all
	// zeros, and Is6 picks the family that Sockaddr produces: ParseAddr sets
	// Is6, because Listen first tries a dual-stack [::] socket, and Listen
	// clears it to fall back to 0.0.0.0 on a kernel without IPv6. An explicit
	// "[::]:80" or "0.0.0.0:80" is not a Wildcard: the user chose the family.
	Wildcard bool

	Port int
}

// addrError is ParseAddr's error: the input, quoted so that any byte in it
// prints on one line, and what is wrong with it.
type addrError struct {
	addr, msg string
}

func (e *addrError) Error() string {
	return "address " + strconv.Quote(e.addr) + ": " + e.msg
}

// ParseAddr parses a listen address: "127.0.0.1:8080", "[::1]:8080",
// ":8080" (every interface), "0.0.0.0:80", "[::]:80", "[::ffff:127.0.0.1]:80"
// or "localhost:8080", which means 127.0.0.1. No other host name is
// resolved: that would need DNS, and a listen address should not depend on
// it. The port is 0 to 65535; 0 lets the kernel pick.
//
// The grammar is net/netip.ParseAddrPort's — the same literals succeed,
// leading zeros in IPv4 octets are refused, leading zeros in the port are
// not — except that zones ("[fe80::1%eth0]:80") are refused, because Addr
// has nowhere to keep one, and that ":port" and "localhost:port" are added.
func ParseAddr(s string) (Addr, error) {
	fail := func(msg string) (Addr, error) {
		return Addr{}, &addrError{addr: s, msg: msg}
	}
	if s == "" {
		return fail("empty; want host:port, such as 127.0.0.1:8080 or :8080")
	}

	var host, port string
	bracketed := s[0] == '['
	if bracketed {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fail(`missing "]" after IPv6 literal`)
		}
		host, port = s[1:end], s[end+1:]
		if port == "" {
			return fail("missing port")
		}
		if port[0] != ':' {
			return fail(`unexpected text after "]"; want [host]:port`)
		}
		port = port[1:]
	} else {
		colon := strings.LastIndexByte(s, ':')
		if colon < 0 {
			if isDigits(s) {
				return fail(`missing port; to listen on every interface write ":` + s + `"`)
			}
			return fail("missing port")
		}
		host, port = s[:colon], s[colon+1:]
	}

	var a Addr
	if zone := strings.IndexByte(host, '%'); zone >= 0 {
		// Quote and unquote so that a control byte in the zone cannot break
		// the error onto a second line.
		z := strconv.Quote(host[zone:])
		return fail("zone identifiers (" + z[1:len(z)-1] + ") are not supported")
	}
	switch {
	case bracketed:
		if strings.IndexByte(host, ':') < 0 {
			return fail("square brackets are only for IPv6 literals")
		}
		ip, why := parseIPv6(host)
		if why != "" {
			return fail("invalid IPv6 address: " + why)
		}
		a.IP, a.Is6 = ip, true
	case host == "":
		a.Wildcard, a.Is6 = true, true
	case strings.IndexByte(host, ':') >= 0:
		return fail("IPv6 literal must be in brackets, as in [::1]:8080")
	case asciiEqualFold(host, "localhost"):
		a.IP[0], a.IP[3] = 127, 1
	case isDigitsAndDots(host):
		ip4, why := parseIPv4(host)
		if why != "" {
			return fail("invalid IPv4 address: " + why)
		}
		copy(a.IP[:4], ip4[:])
	default:
		return fail(`host names are not resolved; use an IP address (only "localhost" is understood, as 127.0.0.1)`)
	}

	p, ok := parsePort(port)
	if !ok {
		if port == "" {
			return fail("missing port")
		}
		return fail("invalid port " + strconv.Quote(port) + " (want 0 to 65535)")
	}
	a.Port = p
	return a, nil
}

// parsePort accepts decimal digits only — no sign, no spaces — with a value
// of at most 65535. Leading zeros are allowed, as strconv.ParseUint (and so
// net/netip) allows them.
func parsePort(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 { // checked per digit, so n cannot overflow
			return 0, false
		}
	}
	return n, true
}

// parseIPv4 parses four dotted decimal octets. It returns a reason on
// failure instead of an error so that the IPv6 parser can reuse it for an
// embedded tail and ParseAddr can phrase the message once.
func parseIPv4(s string) (ip [4]byte, why string) {
	n, val, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 {
				return ip, "empty octet"
			}
			if n == 4 {
				return ip, "more than 4 octets"
			}
			ip[n] = byte(val)
			n, val, digits = n+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return ip, "unexpected character in octet"
		}
		if digits == 1 && val == 0 {
			// inet_aton(3) reads "010" as octal 8; refusing it, as
			// net/netip does, means no reader can take it two ways.
			return ip, "octet has a leading zero"
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return ip, "octet greater than 255"
		}
	}
	if n < 4 {
		return ip, "fewer than 4 octets"
	}
	return ip, ""
}

// parseIPv6 parses RFC 4291 text: up to 8 groups of 1 to 4 hex digits, at
// most one "::" standing for one or more zero groups, and optionally a
// dotted IPv4 address in place of the last two groups.
func parseIPv6(s string) (ip [16]byte, why string) {
	if s == "" {
		return ip, "empty"
	}
	head, tail, compressed := s, "", false
	if i := strings.Index(s, "::"); i >= 0 {
		head, tail, compressed = s[:i], s[i+2:], true
		if strings.Contains(tail, "::") {
			return ip, `more than one "::"`
		}
	}

	var hb, tb [16]byte
	// An IPv4 tail is allowed only at the very end, so never in the head
	// when a "::" and more groups follow it.
	hn, why := parseGroups(head, hb[:], !compressed)
	if why != "" {
		return ip, why
	}
	if !compressed {
		if hn < 16 {
			return ip, `fewer than 8 groups and no "::"`
		}
		return hb, ""
	}
	tn, why := parseGroups(tail, tb[:], true)
	if why != "" {
		return ip, why
	}
	if hn+tn > 14 {
		return ip, `"::" must stand for at least one zero group`
	}
	copy(ip[:hn], hb[:hn])
	copy(ip[16-tn:], tb[:tn])
	return ip, ""
}

// parseGroups parses colon-separated groups into out (16 bytes) and returns
// how many bytes it filled. An empty s is zero groups: legal only beside a
// "::", which the caller knows about and this function does not.
func parseGroups(s string, out []byte, v4Tail bool) (n int, why string) {
	if s == "" {
		return 0, ""
	}
	for {
		group, rest, more := strings.Cut(s, ":")
		if strings.IndexByte(group, '.') >= 0 {
			if more || !v4Tail {
				return n, "embedded IPv4 address must come last"
			}
			if n+4 > len(out) {
				return n, "more than 8 groups"
			}
			ip4, why := parseIPv4(group)
			if why != "" {
				return n, "embedded IPv4 address: " + why
			}
			copy(out[n:n+4], ip4[:])
			return n + 4, ""
		}
		if n+2 > len(out) {
			return n, "more than 8 groups"
		}
		if group == "" || len(group) > 4 {
			return n, "each group must have 1 to 4 hex digits"
		}
		v := 0
		for i := 0; i < len(group); i++ {
			d := hexValue(group[i])
			if d < 0 {
				return n, "unexpected character in group"
			}
			v = v<<4 | d
		}
		out[n], out[n+1] = byte(v>>8), byte(v)
		n += 2
		if !more {
			return n, ""
		}
		s = rest
	}
}

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isDigitsAndDots decides that a host is meant as an IPv4 literal, so that
// "256.1.1.1" is reported as a bad address and not as a host name.
func isDigitsAndDots(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// asciiEqualFold is strings.EqualFold restricted to ASCII: Unicode folding
// would accept "localhoſt" (U+017F folds to s) as localhost.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// String returns "127.0.0.1:8080", "[::1]:8080", or ":8080" for a wildcard.
func (a Addr) String() string {
	var buf [64]byte // longest: "[" + 39 + "]:" + 20-digit int; stays on the stack
	return string(a.AppendTo(buf[:0]))
}

// AppendTo appends a.String() to dst. It allocates nothing when dst has room
// (48 bytes is enough for any port in 0..65535), because the access log
// calls it for every request.
func (a Addr) AppendTo(dst []byte) []byte {
	if a.Is6 && !a.Wildcard {
		dst = append(dst, '[')
		dst = a.appendIP(dst)
		dst = append(dst, ']')
	} else {
		dst = a.appendIP(dst)
	}
	dst = append(dst, ':')
	return strconv.AppendInt(dst, int64(a.Port), 10)
}

// IPString returns the host part alone, without brackets: "127.0.0.1",
// "::1", "::ffff:1.2.3.4", or "" for a wildcard, which has no host.
func (a Addr) IPString() string {
	var buf [48]byte
	return string(a.appendIP(buf[:0]))
}

func (a Addr) appendIP(dst []byte) []byte {
	switch {
	case a.Wildcard:
		return dst
	case !a.Is6:
		return appendIPv4(dst, a.IP[:4])
	case a.is4In6():
		// RFC 5952 section 5: the dotted tail is what a reader recognises.
		dst = append(dst, "::ffff:"...)
		return appendIPv4(dst, a.IP[12:16])
	}
	return appendIPv6(dst, &a.IP)
}

func (a Addr) is4In6() bool {
	for _, b := range a.IP[:10] {
		if b != 0 {
			return false
		}
	}
	return a.IP[10] == 0xff && a.IP[11] == 0xff
}

func appendIPv4(dst, ip []byte) []byte {
	for i, b := range ip[:4] {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(b), 10)
	}
	return dst
}

// appendIPv6 writes RFC 5952 canonical text, so that one address always
// prints one way and logs can be searched with grep: lowercase hex without
// leading zeros, and "::" for the longest run of two or more zero groups,
// the first such run if two tie. A single zero group is written "0", since
// "::" there would save nothing.
func appendIPv6(dst []byte, ip *[16]byte) []byte {
	group := func(i int) uint16 { return uint16(ip[2*i])<<8 | uint16(ip[2*i+1]) }

	zeroStart, zeroLen := -1, 1
	for i := 0; i < 8; {
		if group(i) != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && group(j) == 0 {
			j++
		}
		if j-i > zeroLen { // strictly longer, so the first run wins a tie
			zeroStart, zeroLen = i, j-i
		}
		i = j
	}

	for i := 0; i < 8; i++ {
		if i == zeroStart {
			dst = append(dst, ':', ':')
			i += zeroLen - 1
			continue
		}
		if i > 0 && i != zeroStart+zeroLen {
			dst = append(dst, ':')
		}
		dst = appendHex16(dst, group(i))
	}
	return dst
}

const hexDigits = "0123456789abcdef"

func appendHex16(dst []byte, v uint16) []byte {
	if v >= 0x1000 {
		dst = append(dst, hexDigits[v>>12])
	}
	if v >= 0x100 {
		dst = append(dst, hexDigits[v>>8&0xf])
	}
	if v >= 0x10 {
		dst = append(dst, hexDigits[v>>4&0xf])
	}
	return append(dst, hexDigits[v&0xf])
}

// Sockaddr returns the form bind(2) takes: *unix.SockaddrInet6 when Is6,
// else *unix.SockaddrInet4. A wildcard becomes [::] or 0.0.0.0 by Is6 (see
// Addr.Wildcard); its IP is not consulted.
func (a Addr) Sockaddr() unix.Sockaddr {
	if a.Is6 {
		sa := &unix.SockaddrInet6{Port: a.Port}
		if !a.Wildcard {
			sa.Addr = a.IP
		}
		return sa
	}
	sa := &unix.SockaddrInet4{Port: a.Port}
	if !a.Wildcard {
		copy(sa.Addr[:], a.IP[:4])
	}
	return sa
}

// AddrFromSockaddr converts what accept4(2) or getsockname(2) returned. The
// kernel always reports a concrete address, so Wildcard is never set: a
// socket bound from ":8080" reports [::]:8080. An IPv6 scope (zone) ID is
// dropped, as ParseAddr refuses zones. nil or any other family gives the
// zero Addr, which prints as "0.0.0.0:0".
func AddrFromSockaddr(sa unix.Sockaddr) Addr {
	var a Addr
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		if sa != nil {
			copy(a.IP[:4], sa.Addr[:])
			a.Port = sa.Port
		}
	case *unix.SockaddrInet6:
		if sa != nil {
			a.IP, a.Is6, a.Port = sa.Addr, true, sa.Port
		}
	}
	return a
}

// decodeSockaddr reads an IPv4 or IPv6 address as the kernel wrote it into
// a raw sockaddr (accept4, getsockname, getpeername); another family gives
// the zero Addr.
func decodeSockaddr(rsa *unix.RawSockaddrAny) Addr {
	var a Addr
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		copy(a.IP[:4], sa.Addr[:])
		a.Port = port(sa.Port)
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		a.IP, a.Is6, a.Port = sa.Addr, true, port(sa.Port)
	}
	return a
}

// port reads a port the kernel stored in network byte order.
func port(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}
