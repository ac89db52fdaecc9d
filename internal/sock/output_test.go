package sock

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A descriptor made nonblocking by whoever shares it: Write waits in ppoll
// for room instead of failing with EAGAIN.
func TestOutputWriteWaitsOnEAGAIN(t *testing.T) {
	p := testPipe(t)
	if err := unix.SetNonblock(p[1], true); err != nil {
		t.Fatal(err)
	}
	fill := make([]byte, 4096)
	for {
		if _, err := unix.Write(p[1], fill); err == unix.EAGAIN {
			break
		}
	}
	go func() { // a reader, late
		time.Sleep(50 * time.Millisecond)
		buf := make([]byte, 64<<10)
		for {
			if n, _ := unix.Read(p[0], buf); n <= 0 {
				return
			}
		}
	}()
	msg := bytes.Repeat([]byte("x"), 100<<10)
	if n, err := Output(p[1]).Write(msg); n != len(msg) || err != nil {
		t.Errorf("Write on a full nonblocking pipe: %d, %v; want %d, nil", n, err, len(msg))
	}
}

// The narration's own output is not narrated (it would narrate itself
// without end); another output is.
func TestOutputNarration(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	var narration bytes.Buffer
	SetTraceTo(&narration, p[1], false)
	Output(p[1]).Write([]byte("own\n"))
	SetTraceTo(&narration, -1, false)
	Output(p[1]).Write([]byte("other\n"))
	SetTrace(nil, false)
	want := "write(" + itoa(p[1]) + ", \"other\\n\", 6) = 6\n"
	if narration.String() != want {
		t.Errorf("narrated %q, want %q", narration.String(), want)
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

// Pipe tells a pipe from a file: only a pipe needs writes of PIPE_BUF.
func TestOutputPipe(t *testing.T) {
	p := testPipe(t)
	f, err := CreateOutput(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !Output(p[1]).Pipe() || f.Pipe() || !Output(-1).Pipe() {
		t.Errorf("Pipe: pipe %v, file %v, bad descriptor %v; want true, false, true", Output(p[1]).Pipe(), f.Pipe(), Output(-1).Pipe())
	}
}

// testPipe is a pipe, closed when the test ends: p[0] to read, p[1] to write.
func testPipe(t *testing.T) [2]int {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p
}
