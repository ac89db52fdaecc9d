package sock

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

// What -faults' reset rests on. Closed with SO_LINGER {1, 0}, a socket
// throws away what its send queue still holds and sends RST: a client that
// has not yet been sent the bytes written never gets them. Once SendQueue
// says 0, the client's kernel has every byte, and reads them all before
// it reads ECONNRESET.
func TestResetAfterSendQueue(t *testing.T) {
	l := listenLoopback(t, "127.0.0.1", &Poller{})
	for _, wait := range []bool{false, true} {
		client := dialer(t, l)
		l.Deadline = time.Now().Add(5 * time.Second)
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		// As much as the kernel takes without the client reading: the
		// client's receive buffer, and our send buffer behind it.
		written, chunk := 0, pattern(64<<10)
		for {
			n, err := c.TryWrite(chunk)
			if err == ErrAgain {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			written += n
		}
		queued, err := c.SendQueue()
		if err != nil || queued == 0 {
			t.Fatalf("SendQueue = %d, %v with the client not reading", queued, err)
		}
		if wait {
			// Let the client read, and wait until it has acknowledged all.
			got := make(chan int)
			go func() { n, _ := io.Copy(io.Discard, client); got <- int(n) }()
			for deadline := time.Now().Add(5 * time.Second); queued > 0; time.Sleep(time.Millisecond) {
				if queued, err = c.SendQueue(); err != nil || time.Now().After(deadline) {
					t.Fatalf("SendQueue = %d, %v", queued, err)
				}
			}
			if err := c.Reset(); err != nil {
				t.Fatal(err)
			}
			if n := <-got; n != written {
				t.Fatalf("waited for the queue to empty: the client read %d of %d bytes", n, written)
			}
			continue
		}
		if err := c.Reset(); err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, client)
		if !errors.Is(err, syscall.ECONNRESET) || int(n) >= written {
			t.Fatalf("reset with %d bytes queued: the client read %d of %d, then %v; want fewer, then ECONNRESET", queued, n, written, err)
		}
		t.Logf("reset with %d bytes queued: the client read %d of the %d written", queued, n, written)
	}
}

// SleepUntil sleeps, in one ppoll over no descriptor, until the time.
func TestSleepUntil(t *testing.T) {
	p := &Poller{}
	start := time.Now()
	if err := p.SleepUntil(start.Add(30 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Fatalf("slept %v, want 30ms", d)
	}
}
