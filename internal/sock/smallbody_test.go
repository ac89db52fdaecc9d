package sock

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSmallBody measures the threshold below which a file's bytes are
// better read into the response buffer and written with its head (one
// write, one segment) than sent by sendfile after a write of the head (two
// calls, and with TCP_NODELAY two segments, so the client wakes twice):
// per response, over loopback TCP, a reader draining the other end.
//
//	go test -run '^$' -bench SmallBody ./internal/sock/
func BenchmarkSmallBody(b *testing.B) {
	a, err := ParseAddr("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l, err := Listen(a, 16, &Poller{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	client, err := Dial(l.Addr(), time.Now().Add(5*time.Second), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Abort()
	server, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer server.Abort()
	go func() { // the client reads everything, as fast as it comes
		buf := make([]byte, 256<<10)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	head := make([]byte, 240)
	for _, size := range []int{512, 4 << 10, 16 << 10, 32 << 10, 64 << 10, 256 << 10} {
		name := filepath.Join(b.TempDir(), "f")
		os.WriteFile(name, make([]byte, size), 0o644)
		root, err := OpenRoot(filepath.Dir(name))
		if err != nil {
			b.Fatal(err)
		}
		f, err := root.Open("f")
		if err != nil {
			b.Fatal(err)
		}
		out := make([]byte, len(head)+size)
		b.Run(fmt.Sprintf("%dB/pread+write", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				copy(out, head)
				if err := f.ReadFull(out[len(head):]); err != nil {
					b.Fatal(err)
				}
				if _, err := server.Write(out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dB/write+sendfile", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				if _, err := server.Write(head); err != nil {
					b.Fatal(err)
				}
				if _, err := server.SendFile(f, 0, int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
		f.Close()
		root.Close()
	}
}
