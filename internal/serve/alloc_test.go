package serve

import (
	"bytes"
	"testing"

	"github.com/rawserve/rawserve/internal/sock"
	"golang.org/x/sys/unix"
)

// rawClient is a blocking loopback client made of bare syscalls, so that
// the allocations testing.AllocsPerRun sees are the server's alone.
type rawClient struct {
	fd  int
	buf []byte
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	a, err := sock.ParseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(fd, a.Sockaddr()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &rawClient{fd: fd, buf: make([]byte, 64<<10)}
}

// roundTrip sends req and reads until a response ending in want has come.
func (c *rawClient) roundTrip(t testing.TB, req, want []byte) {
	if _, err := unix.Write(c.fd, req); err != nil {
		t.Fatal(err)
	}
	n := 0
	for !bytes.HasSuffix(c.buf[:n], want) {
		m, err := unix.Read(c.fd, c.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m == 0 {
			t.Fatalf("read: %d %v after %q", m, err, c.buf[:n])
		}
		n += m
	}
}

// A keep-alive request costs the server no allocation: the head is parsed
// into a reused Request, the response built in a reused buffer, the log
// line appended to a reused one.
func TestKeepAliveAllocations(t *testing.T) {
	ts := start(t, Config{})
	c := dialRaw(t, ts.addr)
	req := []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: alloc-test\r\n\r\n")
	c.roundTrip(t, req, []byte("ok\n")) // warm up: buffers reach their size
	allocs := testing.AllocsPerRun(200, func() { c.roundTrip(t, req, []byte("ok\n")) })
	if allocs != 0 {
		t.Errorf("%.2f allocations per keep-alive request, want 0", allocs)
	}
}

// A Connection: close request is a new connection each time. It too should
// cost no allocation beyond what the kernel's new socket forces.
func TestCloseAllocations(t *testing.T) {
	ts := start(t, Config{})
	req := []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 4096)
	a, _ := sock.ParseAddr(ts.addr)
	sa := a.Sockaddr()
	one := func() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.Connect(fd, sa); err != nil {
			t.Fatal(err)
		}
		unix.Write(fd, req)
		for { // until the server's FIN
			n, err := unix.Read(fd, buf)
			if n == 0 || err != nil && err != unix.EINTR {
				break
			}
		}
	}
	one()
	allocs := testing.AllocsPerRun(100, one)
	t.Logf("%.2f allocations per Connection: close request", allocs)
	if allocs > 0 {
		t.Errorf("%.2f allocations per Connection: close request, want 0", allocs)
	}
}
