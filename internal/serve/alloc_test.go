package serve_test

import "testing"

// A keep-alive request costs the server no allocation: the head is parsed
// into a reused Request, the response built in a reused buffer, the log
// line appended to a reused one.
func TestKeepAliveAllocations(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		c := newRawClient(t, ts.addr)
		if err := c.connect(); err != nil {
			t.Fatal(err)
		}
		req, ok := []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: alloc-test\r\n\r\n"), []byte("ok\n")
		roundTrip := func() {
			if err := c.roundTrip(req, ok); err != nil {
				t.Fatal(err)
			}
		}
		roundTrip() // warm up: buffers reach their size
		allocs := testing.AllocsPerRun(200, roundTrip)
		if allocs != 0 {
			t.Errorf("%.2f allocations per keep-alive request, want 0", allocs)
		}
	})
}

// A Connection: close request is a new connection each time. It too should
// cost no allocation beyond what the kernel's new socket forces.
func TestCloseAllocations(t *testing.T) {
	forEachModel(t, func(t *testing.T, m model) {
		ts := m.start(t, settings{})
		req := []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		c := newRawClient(t, ts.addr)
		one := func() {
			if err := c.open(); err != nil {
				t.Fatal(err)
			}
			defer c.close()
			if err := c.connect(); err != nil {
				t.Fatal(err)
			}
			if err := c.send(req); err != nil {
				t.Fatal(err)
			}
			if err := c.readToEOF(); err != nil { // until the server's FIN
				t.Fatal(err)
			}
		}
		one()
		allocs := testing.AllocsPerRun(100, one)
		t.Logf("%.2f allocations per Connection: close request", allocs)
		if allocs > 0 {
			t.Errorf("%.2f allocations per Connection: close request, want 0", allocs)
		}
	})
}
