package probe

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, addr, host, path string
	}{
		{"http://127.0.0.1:8080/healthz", "127.0.0.1:8080", "127.0.0.1:8080", "/healthz"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1:8080", "/"},
		{"http://127.0.0.1", "127.0.0.1:80", "127.0.0.1", "/"},
		{"http://127.0.0.1/", "127.0.0.1:80", "127.0.0.1", "/"},
		{"HTTP://127.0.0.1:8080/a/b?x=1&y=%20", "127.0.0.1:8080", "127.0.0.1:8080", "/a/b?x=1&y=%20"},
		{"http://127.0.0.1:8080?q", "127.0.0.1:8080", "127.0.0.1:8080", "/?q"},
		{"http://127.0.0.1:8080/p#frag", "127.0.0.1:8080", "127.0.0.1:8080", "/p"},
		{"http://localhost:9000/healthz", "127.0.0.1:9000", "localhost:9000", "/healthz"},
		{"http://LocalHost/", "127.0.0.1:80", "LocalHost", "/"},
		{"http://[::1]:8080/healthz", "[::1]:8080", "[::1]:8080", "/healthz"},
		{"http://[::1]/", "[::1]:80", "[::1]", "/"},
		{"http://[::ffff:127.0.0.1]:81/", "[::ffff:127.0.0.1]:81", "[::ffff:127.0.0.1]:81", "/"},
		{"http://0.0.0.0:8080/", "0.0.0.0:8080", "0.0.0.0:8080", "/"},
	} {
		got, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		if got.Addr.String() != tc.addr || got.Host != tc.host || got.Path != tc.path || got.URL != tc.url {
			t.Errorf("ParseURL(%q) = addr %v, host %q, path %q, URL %q; want %s, %q, %q", tc.url,
				got.Addr, got.Host, got.Path, got.URL, tc.addr, tc.host, tc.path)
		}
	}
}

func TestParseURLBad(t *testing.T) {
	for _, tc := range []struct{ url, msg string }{
		{"", "empty"},
		{"127.0.0.1:8080/healthz", "want http://HOST:PORT/path"},
		{"https://127.0.0.1:8443/healthz", "https is not supported"},
		{"ftp://127.0.0.1/", `unsupported scheme "ftp"`},
		{"http://", "missing host"},
		{"http:///healthz", "missing host"},
		{"http://:8080/healthz", "missing host"},
		{"http://example.com/healthz", "host names are not resolved"},
		{"http://example.com:8080/", "host names are not resolved"},
		{"http://user@127.0.0.1/", "user information"},
		{"http://::1/", "IPv6 literal must be in brackets"},
		{"http://[::1/", `missing "]"`},
		{"http://[fe80::1%eth0]:80/", "zone identifiers"},
		{"http://127.0.0.1:0/", "port 0"},
		{"http://127.0.0.1:65536/", "invalid port"},
		{"http://127.0.0.1:/", "missing port"},
		{"http://256.0.0.1/", "invalid IPv4 address"},
		{"http://127.0.0.1/a b", `byte " " in path must be percent-encoded`},
		{"http://127.0.0.1/a\r\nX-Evil: 1", `byte "\r"`},
		{"http://127.0.0.1/caf\xc3\xa9", `byte "\xc3"`},
	} {
		_, err := ParseURL(tc.url)
		var ue *URLError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseURL(%q): %v; want a URLError saying %q", tc.url, err, tc.msg)
			continue
		}
		if strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("ParseURL(%q): error %q is not one line", tc.url, err)
		}
	}
}

func TestRequest(t *testing.T) {
	tg, err := ParseURL("http://[::1]:8080/healthz?full=1")
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /healthz?full=1 HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: rawserve-probe\r\nConnection: close\r\n\r\n"
	if got := string(tg.request()); got != want {
		t.Errorf("request:\n%q\nwant\n%q", got, want)
	}
}
