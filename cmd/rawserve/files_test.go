package main

import (
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A sparse file past 4 GiB, with markers where offsets get interesting: at
// 0, across 0x7ffff000 (the most one sendfile(2) call moves) and past 2^32.
// Fetched whole, its checksum matches the file's; fetched by ranges, each
// marker is where it should be.
func TestBigSparseFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "big")
	const size = 4<<30 + 100
	marks := map[int64]string{0: "start", 0x7ffff000 - 3: "cap-crossing", 4<<30 + 50: "past-4GiB", size - 3: "end"}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Skipf("cannot make a sparse 4 GiB file here: %v", err)
	}
	for off, m := range marks {
		f.WriteAt([]byte(m), off)
	}
	f.Close()
	// Copy with 1 MiB buffers: io.Copy's 32 KiB make 4 GiB six times slower.
	buf := make([]byte, 1<<20)
	sum := func(r io.Reader) (int64, uint32, error) {
		h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		n, err := io.CopyBuffer(struct{ io.Writer }{h}, struct{ io.Reader }{r}, buf)
		return n, h.Sum32(), err
	}
	// What the file holds, made without reading it back: zeros and marks.
	_, want, _ := sum(&sparse{size: size, marks: marks})

	// Each model has a sendfile loop of its own (sock.Conn.SendFile in the
	// serial one, TrySendFile between epoll_waits in the epoll one, and
	// between poll requests in the uring one).
	for _, model := range []string{"serial", "epoll", "uring"} {
		t.Run(model, func(t *testing.T) {
			needModel(t, model)
			s := start(t, "-model", model, "-dir", dir, "-quiet", "-write-timeout", "2m")
			client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Get("http://" + s.addr + "/big")
			if err != nil {
				t.Fatal(err)
			}
			n, got, err := sum(resp.Body)
			resp.Body.Close()
			if err != nil || n != size || resp.ContentLength != size || got != want {
				t.Fatalf("whole file: %d of %d bytes (Content-Length %d), crc %x want %x, %v", n, int64(size), resp.ContentLength, got, want, err)
			}

			for off, m := range marks {
				req, _ := http.NewRequest("GET", "http://"+s.addr+"/big", nil)
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+int64(len(m))-1))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				wantRange := fmt.Sprintf("bytes %d-%d/%d", off, off+int64(len(m))-1, int64(size))
				if resp.StatusCode != 206 || string(b) != m || resp.Header.Get("Content-Range") != wantRange {
					t.Errorf("range at %d: %d %q %q; want 206 %q %q", off, resp.StatusCode, b, resp.Header.Get("Content-Range"), m, wantRange)
				}
			}
		})
	}
}

// sparse reads as a sparse file does: zeros, with marks at their offsets.
type sparse struct {
	off, size int64
	marks     map[int64]string
}

func (r *sparse) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.off)]
	clear(p)
	for at, m := range r.marks {
		for i := range len(m) {
			if o := at + int64(i) - r.off; o >= 0 && o < int64(len(p)) {
				p[o] = m[i]
			}
		}
	}
	r.off += int64(len(p))
	return len(p), nil
}
