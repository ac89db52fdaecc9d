package probe

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// rawServer accepts one connection on 127.0.0.1, reads the request head,
// sends it back on the channel, and answers with response.
func rawServer(t *testing.T, response string) (url string, got <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			ch <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var head strings.Builder
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			head.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		ch <- head.String()
		c.Write([]byte(response))
	}()
	return "http://" + l.Addr().String() + "/healthz?x=1", ch
}

// The request is exactly the one documented, and a 2xx is health.
func TestCheckRequestAndOK(t *testing.T) {
	url, got := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	if err := Check(url, 5*time.Second); err != nil {
		t.Fatalf("Check: %v", err)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/healthz?x=1")
	want := "GET /healthz?x=1 HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: rawserve-probe\r\nConnection: close\r\n\r\n"
	if req := <-got; req != want {
		t.Errorf("server read\n%q\nwant\n%q", req, want)
	}
}

func TestCheckStatus(t *testing.T) {
	url, _ := rawServer(t, "HTTP/1.1 503 Service Unavailable\r\n\r\n")
	err := Check(url, 5*time.Second)
	var se *StatusError
	if !errors.As(err, &se) || se.Status.Code != 503 || err.Error() != "GET "+url+": 503 Service Unavailable" {
		t.Errorf("Check: %v; want GET %s: 503 Service Unavailable", err, url)
	}
}

func TestCheckNotHTTP(t *testing.T) {
	url, _ := rawServer(t, "SSH-2.0-OpenSSH_9.6\r\n")
	if err := Check(url, 5*time.Second); err == nil || !strings.Contains(err.Error(), "not an HTTP response") {
		t.Errorf("Check: %v; want not an HTTP response", err)
	}
}

func TestCheckRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/healthz"
	l.Close()
	err = Check(url, 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) || err.Error() != "GET "+url+": connect: connection refused" {
		t.Errorf("Check: %v; want GET %s: connect: connection refused", err, url)
	}
}

// A server that accepts and never answers: the one deadline ends the read.
func TestCheckTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	url := "http://" + l.Addr().String() + "/healthz"
	const d = 200 * time.Millisecond
	start := time.Now()
	err = Check(url, d)
	took := time.Since(start)
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, sock.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) ||
		err.Error() != "GET "+url+": timed out after 200ms waiting for the status line" {
		t.Errorf("Check: %v; want a timeout waiting for the status line", err)
	}
	if took < d || took > d+time.Second {
		t.Errorf("Check took %v; want about %v", took, d)
	}
}

func TestCheckBadInput(t *testing.T) {
	if err := Check("https://127.0.0.1/", time.Second); err == nil || !strings.Contains(err.Error(), "https is not supported") {
		t.Errorf("Check https: %v", err)
	}
	if err := Check("http://127.0.0.1:1/", 0); err == nil || !strings.Contains(err.Error(), "timeout must be positive") {
		t.Errorf("Check with timeout 0: %v", err)
	}
}
