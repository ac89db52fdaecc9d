package sock

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func addrV4(a, b, c, d byte) [16]byte { return [16]byte{a, b, c, d} }

func addrV6(s string) [16]byte { return netip.MustParseAddr(s).As16() }

func TestParseAddrGood(t *testing.T) {
	tests := []struct {
		in   string
		want Addr
		str  string // String(); "" means same as in
	}{
		{"127.0.0.1:8080", Addr{IP: addrV4(127, 0, 0, 1), Port: 8080}, ""},
		{"0.0.0.0:80", Addr{Port: 80}, ""},
		{"255.255.255.255:65535", Addr{IP: addrV4(255, 255, 255, 255), Port: 65535}, ""},
		{"10.0.0.1:0", Addr{IP: addrV4(10, 0, 0, 1)}, ""},
		{"1.2.3.4:0080", Addr{IP: addrV4(1, 2, 3, 4), Port: 80}, "1.2.3.4:80"},
		{":8080", Addr{Is6: true, Wildcard: true, Port: 8080}, ""},
		{":0", Addr{Is6: true, Wildcard: true}, ""},
		{"localhost:8080", Addr{IP: addrV4(127, 0, 0, 1), Port: 8080}, "127.0.0.1:8080"},
		{"LocalHost:1", Addr{IP: addrV4(127, 0, 0, 1), Port: 1}, "127.0.0.1:1"},
		{"[::1]:8080", Addr{IP: addrV6("::1"), Is6: true, Port: 8080}, ""},
		{"[::]:80", Addr{Is6: true, Port: 80}, ""},
		{"[::ffff:127.0.0.1]:80", Addr{IP: addrV6("::ffff:127.0.0.1"), Is6: true, Port: 80}, ""},
		{"[::FFFF:7f00:1]:80", Addr{IP: addrV6("::ffff:127.0.0.1"), Is6: true, Port: 80}, "[::ffff:127.0.0.1]:80"},
		{"[::1.2.3.4]:1", Addr{IP: addrV6("::102:304"), Is6: true, Port: 1}, "[::102:304]:1"},
		{"[2001:DB8:0:0:0:0:0:1]:443", Addr{IP: addrV6("2001:db8::1"), Is6: true, Port: 443}, "[2001:db8::1]:443"},
		{"[2001:db8:0:1:1:1:1:1]:1", Addr{IP: addrV6("2001:db8:0:1:1:1:1:1"), Is6: true, Port: 1}, ""},
		{"[2001:0:0:1:0:0:0:1]:1", Addr{IP: addrV6("2001:0:0:1::1"), Is6: true, Port: 1}, "[2001:0:0:1::1]:1"},
		{"[2001:db8:0:0:1:0:0:1]:1", Addr{IP: addrV6("2001:db8::1:0:0:1"), Is6: true, Port: 1}, "[2001:db8::1:0:0:1]:1"},
		{"[1:2:3:4:5:6:7::]:1", Addr{IP: addrV6("1:2:3:4:5:6:7:0"), Is6: true, Port: 1}, "[1:2:3:4:5:6:7:0]:1"},
		{"[::2:3:4:5:6:7:8]:1", Addr{IP: addrV6("0:2:3:4:5:6:7:8"), Is6: true, Port: 1}, "[0:2:3:4:5:6:7:8]:1"},
		{"[1:2:3:4:5:6:1.2.3.4]:1", Addr{IP: addrV6("1:2:3:4:5:6:102:304"), Is6: true, Port: 1}, "[1:2:3:4:5:6:102:304]:1"},
		{"[fe80::0001]:1", Addr{IP: addrV6("fe80::1"), Is6: true, Port: 1}, "[fe80::1]:1"},
	}
	for _, tt := range tests {
		got, err := ParseAddr(tt.in)
		if err != nil {
			t.Errorf("ParseAddr(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseAddr(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		str := tt.str
		if str == "" {
			str = tt.in
		}
		if s := got.String(); s != str {
			t.Errorf("ParseAddr(%q).String() = %q, want %q", tt.in, s, str)
		}
	}
}

func TestParseAddrBad(t *testing.T) {
	tests := []struct{ in, err string }{
		{"", `address "": empty`},
		{"127.0.0.1", `address "127.0.0.1": missing port`},
		{"8080", `missing port; to listen on every interface write ":8080"`},
		{"127.0.0.1:", `address "127.0.0.1:": missing port`},
		{"[::1]", `address "[::1]": missing port`},
		{"[::1]:", "missing port"},
		{":", "missing port"},
		{"127.0.0.1:99999", `address "127.0.0.1:99999": invalid port "99999"`},
		{":65536", `invalid port "65536"`},
		{":-1", `invalid port "-1"`},
		{":+80", `invalid port "+80"`},
		{": 80", `invalid port " 80"`},
		{":80 ", `invalid port "80 "`},
		{":http", `invalid port "http"`},
		{":0x50", `invalid port "0x50"`},
		{"[::1]:8o", `invalid port "8o"`},
		{"::1:8080", `address "::1:8080": IPv6 literal must be in brackets`},
		{"::1", "IPv6 literal must be in brackets"},
		{"fe80::1:80", "IPv6 literal must be in brackets"},
		{"[fe80::1%eth0]:80", `address "[fe80::1%eth0]:80": zone identifiers (%eth0) are not supported`},
		{"[fe80::1%]:80", "zone identifiers (%) are not supported"},
		{"[fe80::1%a\nb]:80", `zone identifiers (%a\nb) are not supported`},
		{"1.2.3.4%lo:80", "zone identifiers (%lo) are not supported"},
		{"example.com:80", `address "example.com:80": host names are not resolved; use an IP address`},
		{"localhost.:80", "host names are not resolved"},
		{"localhoſt:80", "host names are not resolved"},
		{"[localhost]:80", "square brackets are only for IPv6 literals"},
		{"[1.2.3.4]:80", "square brackets are only for IPv6 literals"},
		{"[]:80", "square brackets are only for IPv6 literals"},
		{"[::1:80", `missing "]"`},
		{"[::1]80", `unexpected text after "]"`},
		{"[::1]]:80", `unexpected text after "]"`},
		{"01.2.3.4:80", "invalid IPv4 address: octet has a leading zero"},
		{"1.2.3.00:80", "octet has a leading zero"},
		{"256.1.1.1:80", "octet greater than 255"},
		{"1.2.3:80", "fewer than 4 octets"},
		{"1.2.3.4.5:80", "more than 4 octets"},
		{"1..3.4:80", "empty octet"},
		{".1.2.3:80", "empty octet"},
		{"1.2.3.4.:80", "empty octet"},
		{"[1:2:3:4:5:6:7:8:9]:80", "invalid IPv6 address: more than 8 groups"},
		{"[1:2:3:4:5:6:7]:80", "fewer than 8 groups"},
		{"[1::2::3]:80", `more than one "::"`},
		{"[:::1]:80", "each group must have 1 to 4 hex digits"},
		{"[1:::1]:80", "each group must have 1 to 4 hex digits"},
		{"[:1::]:80", "each group must have 1 to 4 hex digits"},
		{"[1:]:80", "each group must have 1 to 4 hex digits"},
		{"[12345::]:80", "each group must have 1 to 4 hex digits"},
		{"[g::]:80", "unexpected character in group"},
		{"[1:2:3:4:5:6:7:8::]:80", `"::" must stand for at least one zero group`},
		{"[::1:2:3:4:5:6:7:8]:80", `"::" must stand for at least one zero group`},
		{"[1.2.3.4::]:80", "embedded IPv4 address must come last"},
		{"[::1.2.3.4:1]:80", "embedded IPv4 address must come last"},
		{"[1:2:3:4:5:1.2.3.4]:80", "fewer than 8 groups"},
		{"[1:2:3:4:5:6:7:1.2.3.4]:80", "more than 8 groups"},
		{"[::ffff:01.2.3.4]:80", "embedded IPv4 address: octet has a leading zero"},
	}
	for _, tt := range tests {
		got, err := ParseAddr(tt.in)
		if err == nil {
			t.Errorf("ParseAddr(%q) = %v, want error containing %q", tt.in, got, tt.err)
			continue
		}
		if got != (Addr{}) {
			t.Errorf("ParseAddr(%q) returned %#v with its error, want zero Addr", tt.in, got)
		}
		if !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseAddr(%q) error = %q, want it to contain %q", tt.in, err, tt.err)
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("ParseAddr(%q) error spans lines: %q", tt.in, err)
		}
	}
}

// addrOracleHosts and addrOraclePorts combine into the literal inputs compared with
// net/netip, chosen around every boundary the two parsers must agree on.
var addrOracleHosts = []string{
	"0.0.0.0", "127.0.0.1", "1.2.3.4", "255.255.255.255", "192.168.001.1",
	"01.2.3.4", "0.0.0.00", "256.0.0.0", "1.2.3", "1.2.3.4.5", "1..2.3",
	".1.2.3", "1.2.3.", "1.2.3.-4", "1.2.3.4a", "a.b.c.d", "1.2.3.1000", "",
	"::", "::1", "1::", "1::1", "::ffff:1.2.3.4", "::FFFF:1.2.3.4",
	"::ffff:0.0.0.0", "::ffff:7f00:1", "::1.2.3.4", "1::1.2.3.4",
	"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
	"1:2:3:4:5:1.2.3.4", "::1:2:3:4:5:6:1.2.3.4", "::1:2:3:4:5:1.2.3.4",
	"1.2.3.4::", "::1.2.3.4:1", "::1.2.3", "::01.2.3.4", "::256.1.1.1",
	"::ffff:1.2.3.4.5", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
	"1:2:3:4:5:6:7", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::",
	"::1:2:3:4:5:6:7:8", "1::2::3", ":::", ":::1", "1:::1", ":1::", "1:",
	":1", "1::2:", "12345::", "01234::", "0000::", "ffff::", "FFFF::",
	"g::", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "2001:0:0:1:0:0:0:1",
	"2001:db8:0:0:1:0:0:1", "0:0:1:0:0:0:0:0", "1:0:0:2:0:0:0:3",
	"0:1:0:1:0:1:0:1", "fe80::1%eth0", "fe80::1%", "::%x", "1.2.3.4%x",
	"[::1]", "localhost", "example.com", " ::1", "::1 ", "-::1",
}

var addrOraclePorts = []string{
	"0", "80", "0080", "00000000000000080", "65535", "65536", "99999",
	"18446744073709551617", "", "-1", "+80", " 80", "80 ", "8o", "0x50",
	"1_000", ":80",
}

// addrOracleApplies says whether ParseAddr promises to agree with
// netip.ParseAddrPort on s: everywhere except where it differs on purpose.
func addrOracleApplies(s string) bool {
	if strings.Contains(s, "%") { // zones: refused here
		return false
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return true
	}
	host := s[:i]
	return host != "" && !asciiEqualFold(host, "localhost") // wildcard and localhost: added here
}

// checkAddrOracle compares one input with net/netip and checks the invariants
// every successful parse must keep.
func checkAddrOracle(t *testing.T, s string) {
	t.Helper()
	got, err := ParseAddr(s)
	if err != nil {
		if got != (Addr{}) {
			t.Errorf("ParseAddr(%q) returned %#v with its error", s, got)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "address ") || strings.ContainsAny(msg, "\r\n") {
			t.Errorf("ParseAddr(%q) error is not one line starting with `address`: %q", s, msg)
		}
	}
	if strings.Contains(s, "%") && err == nil {
		t.Errorf("ParseAddr(%q) accepted a zone", s)
	}
	if addrOracleApplies(s) {
		want, werr := netip.ParseAddrPort(s)
		if (err == nil) != (werr == nil) {
			t.Fatalf("ParseAddr(%q) error = %v; netip.ParseAddrPort error = %v", s, err, werr)
		}
		if err == nil {
			checkAddrAgrees(t, s, got, want)
		}
	}
	if err != nil {
		return
	}
	checkAddrInvariants(t, s, got)
}

func checkAddrAgrees(t *testing.T, s string, got Addr, want netip.AddrPort) {
	t.Helper()
	wip := want.Addr()
	if got.Is6 != wip.Is6() || got.Wildcard || got.Port != int(want.Port()) {
		t.Errorf("ParseAddr(%q) = %#v; netip says %v (Is6 %v)", s, got, want, wip.Is6())
	}
	var wantIP [16]byte
	if wip.Is4() {
		a4 := wip.As4()
		copy(wantIP[:], a4[:])
	} else {
		wantIP = wip.As16()
	}
	if got.IP != wantIP {
		t.Errorf("ParseAddr(%q).IP = %v, netip says %v", s, got.IP, wantIP)
	}
	if got.String() != want.String() {
		t.Errorf("ParseAddr(%q).String() = %q, netip says %q", s, got.String(), want.String())
	}
	if got.IPString() != wip.String() {
		t.Errorf("ParseAddr(%q).IPString() = %q, netip says %q", s, got.IPString(), wip.String())
	}
}

func checkAddrInvariants(t *testing.T, s string, a Addr) {
	t.Helper()
	if a.Port < 0 || a.Port > 65535 {
		t.Errorf("ParseAddr(%q).Port = %d", s, a.Port)
	}
	if !a.Is6 && [12]byte(a.IP[4:]) != [12]byte{} || a.Wildcard && a.IP != [16]byte{} {
		t.Errorf("ParseAddr(%q).IP = %v: unused bytes not zero", s, a.IP)
	}
	str := a.String()
	if again, err := ParseAddr(str); err != nil || again != a {
		t.Errorf("ParseAddr(%q).String() = %q, which parses to %#v, %v", s, str, again, err)
	}
	if b := a.AppendTo([]byte("x")); string(b) != "x"+str {
		t.Errorf("AppendTo = %q, want %q", b, "x"+str)
	}
	back := AddrFromSockaddr(a.Sockaddr())
	want := a
	want.Wildcard = false // the kernel's view is always a concrete address
	if back != want {
		t.Errorf("AddrFromSockaddr(ParseAddr(%q).Sockaddr()) = %#v, want %#v", s, back, want)
	}
}

func TestParseAddrMatchesNetip(t *testing.T) {
	var inputs []string
	for _, h := range addrOracleHosts {
		inputs = append(inputs, h, "["+h+"]")
		for _, p := range addrOraclePorts {
			inputs = append(inputs, h+":"+p, "["+h+"]:"+p)
		}
	}
	inputs = append(inputs, "", ":", "[", "]", "[]", "[]:", "[:]:80", "[::1]]:80",
		"[[::1]:80", "[::1]:80:90", "[::1]x:80", "[::1]:80]", "1.2.3.4:80:90")
	compared := 0
	for _, s := range inputs {
		checkAddrOracle(t, s)
		if addrOracleApplies(s) {
			compared++
		}
	}
	if compared < 2000 {
		t.Errorf("only %d inputs compared with netip", compared)
	}
}

// TestAddrStringMatchesNetip covers every placement of zero groups, which is
// where RFC 5952 printing has its rules, with random nonzero groups around
// them.
func TestAddrStringMatchesNetip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for mask := 0; mask < 256; mask++ {
		for range 8 {
			var ip [16]byte
			for g := range 8 {
				if mask&(1<<g) != 0 {
					v := uint16(r.IntN(0xffff) + 1)
					if r.IntN(2) == 0 {
						v >>= r.IntN(16) // short groups too
						v |= 1
					}
					ip[2*g], ip[2*g+1] = byte(v>>8), byte(v)
				}
			}
			if mask == 0b00111111 && r.IntN(2) == 0 {
				ip = addrV6("::ffff:0.0.0.0")
				ip[12], ip[13], ip[14], ip[15] = byte(r.Uint32()), byte(r.Uint32()), 0, byte(r.Uint32())
			}
			port := r.IntN(65536)
			a := Addr{IP: ip, Is6: true, Port: port}
			want := netip.AddrPortFrom(netip.AddrFrom16(ip), uint16(port)).String()
			if got := a.String(); got != want {
				t.Fatalf("String of %v = %q, netip says %q", ip, got, want)
			}
		}
	}
}

func TestAddrStringOddValues(t *testing.T) {
	tests := []struct {
		a    Addr
		want string
	}{
		{Addr{}, "0.0.0.0:0"},
		{Addr{Wildcard: true, Port: 80}, ":80"},
		{Addr{Wildcard: true, Is6: true, IP: addrV6("::1"), Port: 80}, ":80"},
		{Addr{IP: [16]byte{1, 2, 3, 4, 5, 6}, Port: -1}, "1.2.3.4:-1"},
		{Addr{Is6: true, Port: 1 << 40}, "[::]:1099511627776"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
	if got := (Addr{Wildcard: true, Port: 80}).IPString(); got != "" {
		t.Errorf("wildcard IPString() = %q, want empty", got)
	}
}

func TestAddrSockaddr(t *testing.T) {
	sa4, ok := (Addr{IP: addrV4(127, 0, 0, 1), Port: 80}).Sockaddr().(*unix.SockaddrInet4)
	if !ok || sa4.Addr != [4]byte{127, 0, 0, 1} || sa4.Port != 80 {
		t.Errorf("IPv4 Sockaddr = %#v", sa4)
	}
	wild, _ := ParseAddr(":8080")
	sa6, ok := wild.Sockaddr().(*unix.SockaddrInet6)
	if !ok || sa6.Addr != [16]byte{} || sa6.Port != 8080 {
		t.Errorf("wildcard Sockaddr = %#v, want [::]:8080", wild.Sockaddr())
	}
	wild.Is6 = false // Listen's fallback when the kernel has no IPv6
	sa4, ok = wild.Sockaddr().(*unix.SockaddrInet4)
	if !ok || sa4.Addr != [4]byte{} || sa4.Port != 8080 {
		t.Errorf("IPv4 wildcard Sockaddr = %#v, want 0.0.0.0:8080", wild.Sockaddr())
	}

	for _, s := range []string{"127.0.0.1:8080", "0.0.0.0:0", "[::1]:8080", "[::]:80",
		"[::ffff:127.0.0.1]:80", "[2001:db8::1]:65535", "localhost:1", ":8080"} {
		a, err := ParseAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		checkAddrInvariants(t, s, a)
	}

	scoped := &unix.SockaddrInet6{Port: 9, ZoneId: 2, Addr: addrV6("fe80::1")}
	if got := AddrFromSockaddr(scoped); got != (Addr{IP: addrV6("fe80::1"), Is6: true, Port: 9}) {
		t.Errorf("AddrFromSockaddr(scoped) = %#v", got)
	}
	for _, sa := range []unix.Sockaddr{nil, (*unix.SockaddrInet4)(nil), (*unix.SockaddrInet6)(nil),
		&unix.SockaddrUnix{Name: "/tmp/x"}} {
		if got := AddrFromSockaddr(sa); got != (Addr{}) {
			t.Errorf("AddrFromSockaddr(%#v) = %#v, want zero Addr", sa, got)
		}
	}
}

func TestAddrAppendToDoesNotAllocate(t *testing.T) {
	addrs := []Addr{
		{IP: addrV4(255, 255, 255, 255), Port: 65535},
		{IP: addrV6("1111:2222:3333:4444:5555:6666:7777:8888"), Is6: true, Port: 65535},
		{IP: addrV6("::ffff:255.255.255.255"), Is6: true, Port: 65535},
		{Wildcard: true, Is6: true, Port: 8080},
	}
	buf := make([]byte, 0, 48)
	for _, a := range addrs {
		if got := string(a.AppendTo(buf[:0])); got != a.String() {
			t.Errorf("AppendTo = %q, String = %q", got, a.String())
		}
		if n := testing.AllocsPerRun(100, func() { buf = a.AppendTo(buf[:0]) }); n != 0 {
			t.Errorf("AppendTo(%v) allocates %v times per call", a, n)
		}
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "[::1]:8080", ":8080", "localhost:80",
		"[::ffff:1.2.3.4]:0", "[1:2:3:4:5:6:7:8]:65535", "01.2.3.4:80", "[fe80::1%eth0]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAddrOracle(t, s)
	})
}
