package sock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// countFDs counts this process's open descriptors (the directory read
// itself adds one, the same one each time).
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(ents)
}

// makeTree builds a root for the tests, and a file outside it:
//
//	root/file.txt       regular
//	root/sub/page.css   regular, in a directory
//	root/link-in        -> file.txt
//	root/sub/up         -> ../file.txt        (climbs, but stays inside)
//	root/dirlink        -> sub
//	root/link-out       -> ../outside/secret  (leaves the root)
//	root/abs-link       -> <root>/file.txt    (absolute, though it points inside)
//	root/fifo           a FIFO
func makeTree(t *testing.T) (root string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(base, "outside"), 0o755))
	must(os.WriteFile(filepath.Join(base, "outside", "secret"), []byte("secret"), 0o644))
	must(os.WriteFile(filepath.Join(root, "file.txt"), []byte("hello\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "sub", "page.css"), []byte("p{}"), 0o644))
	must(os.Symlink("file.txt", filepath.Join(root, "link-in")))
	must(os.Symlink("../file.txt", filepath.Join(root, "sub", "up")))
	must(os.Symlink("sub", filepath.Join(root, "dirlink")))
	must(os.Symlink("../outside/secret", filepath.Join(root, "link-out")))
	must(os.Symlink(filepath.Join(root, "file.txt"), filepath.Join(root, "abs-link")))
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	return root
}

type openCase struct {
	rel   string
	want  error // nil, fs.ErrNotExist or fs.ErrPermission
	isDir bool
	size  int64
}

func runOpenCases(t *testing.T, r *Root, cases []openCase, syscallName string) {
	t.Helper()
	for _, c := range cases {
		// A FIFO opened without O_NONBLOCK would hang here; give up
		// loudly instead.
		type res struct {
			f   *File
			err error
		}
		done := make(chan res, 1)
		go func() {
			f, err := r.Open(c.rel)
			done <- res{f, err}
		}()
		var got res
		select {
		case got = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Open(%q) blocked", c.rel)
		}
		if c.want != nil {
			if got.err == nil {
				got.f.Close()
				t.Errorf("Open(%q) succeeded, want %v", c.rel, c.want)
				continue
			}
			if !errors.Is(got.err, c.want) {
				t.Errorf("Open(%q) = %v, want an error matching %v", c.rel, got.err, c.want)
			}
			if msg := got.err.Error(); !strings.HasPrefix(msg, syscallName+":") && !strings.HasPrefix(msg, "fstat:") {
				t.Errorf("Open(%q) error %q does not name %s or fstat", c.rel, msg, syscallName)
			}
			continue
		}
		if got.err != nil {
			t.Errorf("Open(%q): %v", c.rel, got.err)
			continue
		}
		f := got.f
		if f.IsDir != c.isDir || (!c.isDir && f.Size != c.size) {
			t.Errorf("Open(%q) = dir %v size %d, want dir %v size %d", c.rel, f.IsDir, f.Size, c.isDir, c.size)
		}
		if f.ModTime.IsZero() || time.Since(f.ModTime) > time.Hour {
			t.Errorf("Open(%q) ModTime %v", c.rel, f.ModTime)
		}
		if f.FD() < 0 {
			t.Errorf("Open(%q) FD %d", c.rel, f.FD())
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close(%q): %v", c.rel, err)
		}
		if err := f.Close(); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("second Close(%q) = %v, want fs.ErrClosed", c.rel, err)
		}
	}
}

func TestRootOpen(t *testing.T) {
	root := makeTree(t)
	before := countFDs(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	if !r.hasOpenat2 {
		t.Log("openat2 unavailable here: the openat2 half of the policy runs as the walk")
	}
	cases := []openCase{
		{rel: "file.txt", size: 6},
		{rel: "sub/page.css", size: 3},
		{rel: "", isDir: true},
		{rel: ".", isDir: true},
		{rel: "sub", isDir: true},
		{rel: "sub/", isDir: true},
		{rel: "missing", want: fs.ErrNotExist},
		{rel: "sub/missing/x", want: fs.ErrNotExist},
		{rel: "file.txt/x", want: fs.ErrNotExist}, // ENOTDIR
		{rel: "file.txt/", want: fs.ErrNotExist},  // ENOTDIR
		{rel: strings.Repeat("n", 300), want: fs.ErrNotExist},
		{rel: "../outside/secret", want: fs.ErrPermission},
		{rel: "sub/../../outside/secret", want: fs.ErrPermission},
		{rel: "/etc/passwd", want: fs.ErrPermission},
		{rel: "link-out", want: fs.ErrPermission},
		{rel: "abs-link", want: fs.ErrPermission},
		{rel: "fifo", want: fs.ErrPermission},
	}
	if r.hasOpenat2 {
		cases = append(cases,
			openCase{rel: "link-in", size: 6},
			openCase{rel: "sub/up", size: 6},
			openCase{rel: "dirlink/page.css", size: 3},
			openCase{rel: "dirlink", isDir: true},
		)
	}
	runOpenCases(t, r, cases, "openat2")

	// The errno and the SyscallError stay reachable under the fs mapping.
	_, err = r.Open("link-out")
	var se *os.SyscallError
	if !errors.As(err, &se) || (r.hasOpenat2 && !errors.Is(err, unix.EXDEV)) {
		t.Errorf("Open(link-out) = %#v, want a SyscallError wrapping EXDEV", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := countFDs(t); after != before {
		t.Errorf("descriptor leak: %d open before, %d after", before, after)
	}
}

// TestRootOpenWalk forces the fallback used where openat2 is missing.
func TestRootOpenWalk(t *testing.T) {
	root := makeTree(t)
	before := countFDs(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	r.hasOpenat2 = false
	runOpenCases(t, r, []openCase{
		{rel: "file.txt", size: 6},
		{rel: "sub/page.css", size: 3},
		{rel: "sub//page.css", size: 3},
		{rel: "", isDir: true},
		{rel: ".", isDir: true},
		{rel: "sub", isDir: true},
		{rel: "sub/", isDir: true},
		{rel: "missing", want: fs.ErrNotExist},
		{rel: "sub/missing/x", want: fs.ErrNotExist},
		{rel: "file.txt/x", want: fs.ErrNotExist},
		{rel: "file.txt/", want: fs.ErrNotExist},
		{rel: "../outside/secret", want: fs.ErrPermission},
		{rel: "sub/../file.txt", want: fs.ErrPermission}, // the walk refuses every ".."
		{rel: "/etc/passwd", want: fs.ErrPermission},
		{rel: "link-in", want: fs.ErrPermission}, // every symlink refused...
		{rel: "sub/up", want: fs.ErrPermission},
		{rel: "dirlink", want: fs.ErrPermission},
		{rel: "dirlink/page.css", want: fs.ErrPermission}, // ...in the middle too
		{rel: "link-out", want: fs.ErrPermission},
		{rel: "abs-link", want: fs.ErrPermission},
		{rel: "fifo", want: fs.ErrPermission},
	}, "openat")
	if _, err := r.Open("dirlink/page.css"); !errors.Is(err, unix.ELOOP) {
		t.Errorf("Open(dirlink/page.css) = %v, want ELOOP", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := countFDs(t); after != before {
		t.Errorf("descriptor leak: %d open before, %d after", before, after)
	}
}

func TestOpenRootErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing"), file} {
		r, err := OpenRoot(p)
		if err == nil {
			r.Close()
			t.Errorf("OpenRoot(%q) succeeded", p)
			continue
		}
		if !strings.HasPrefix(err.Error(), "open:") || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenRoot(%q) = %v, want an open: error matching fs.ErrNotExist", p, err)
		}
	}
}

// A file past 2 GiB must open: openat2 on 64-bit gets O_LARGEFILE from the
// kernel, or this would be EOVERFLOW. The file is sparse, so this is cheap.
func TestRootOpenLarge(t *testing.T) {
	dir := t.TempDir()
	const size = 5 << 30
	if err := os.WriteFile(filepath.Join(dir, "big"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "big"), size); err != nil {
		t.Skip(err)
	}
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Open("big")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size != size {
		t.Errorf("Size = %d, want %d", f.Size, int64(size))
	}
}

// Without openat2 (ENOSYS: old kernel or seccomp), OpenRoot settles on the
// walk once and Open never tries openat2 again.
func TestOpenRootNoOpenat2(t *testing.T) {
	root := makeTree(t)
	calls := 0
	openat2Func = func(int, string, *unix.OpenHow) (int, error) {
		calls++
		return -1, unix.ENOSYS
	}
	defer func() { openat2Func = sysOpenat2 }()
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.hasOpenat2 {
		t.Fatal("hasOpenat2 after ENOSYS")
	}
	f, err := r.Open("sub/page.css")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := r.Open("link-in"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Open(link-in) = %v, want fs.ErrPermission", err)
	}
	if calls != 1 {
		t.Errorf("openat2 called %d times, want once (the probe)", calls)
	}
}

// EAGAIN from openat2 is retried, but not forever.
func TestOpenat2EAGAIN(t *testing.T) {
	root := makeTree(t)
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.hasOpenat2 {
		t.Skip("no openat2 here")
	}
	fails, calls := 2, 0
	openat2Func = func(dirfd int, path string, how *unix.OpenHow) (int, error) {
		calls++
		if calls <= fails {
			return -1, unix.EAGAIN
		}
		return sysOpenat2(dirfd, path, how)
	}
	defer func() { openat2Func = sysOpenat2 }()
	f, err := r.Open("file.txt")
	if err != nil {
		t.Fatalf("after %d EAGAINs: %v", fails, err)
	}
	f.Close()
	fails, calls = 1000, 0
	if _, err := r.Open("file.txt"); !errors.Is(err, unix.EAGAIN) || !strings.HasPrefix(err.Error(), "openat2:") {
		t.Errorf("endless EAGAIN: Open = %v, want openat2: EAGAIN", err)
	}
	if calls != openat2Retries+1 {
		t.Errorf("openat2 called %d times, want %d", calls, openat2Retries+1)
	}
}

// ReadDir sees every entry, however many getdents64 calls it takes.
func TestReadDir(t *testing.T) {
	root := t.TempDir()
	want := map[string]bool{}
	for i := 0; i < 300; i++ {
		n := fmt.Sprintf("file-with-a-longish-name-%03d", i)
		os.WriteFile(filepath.Join(root, n), nil, 0o644)
		want[n] = false
	}
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	want["dir"] = true
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]bool{}
	if err := f.ReadDir(make([]byte, 1024), func(name []byte, isDir bool) bool { got[string(name)] = isDir; return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for n, dir := range want {
		if g, ok := got[n]; !ok || g != dir {
			t.Errorf("%s: seen %v, dir %v; want dir %v", n, ok, g, dir)
		}
	}
	// fn returning false ends it there: one getdents64 gave 10 entries.
	g, err := r.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var out strings.Builder
	SetTrace(&out, false)
	seen := 0
	err = g.ReadDir(make([]byte, 1024), func([]byte, bool) bool { seen++; return seen < 10 })
	SetTrace(nil, false)
	if err != nil || seen != 10 || strings.Count(out.String(), "getdents64(") != 1 {
		t.Errorf("stopping at 10: %v, %d entries, narration:\n%s", err, seen, out.String())
	}
}

// Reopen points the root's descriptor — the same number — at the directory
// the path names now; Stat and ID tell the two apart. A path that names no
// directory leaves the root as it was.
func TestRootReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site")
	os.Mkdir(path, 0o755)
	os.WriteFile(filepath.Join(path, "a"), nil, 0o644)
	r, err := OpenRoot(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	held, err := r.ID()
	if err != nil {
		t.Fatal(err)
	}
	if now, err := Stat(path); err != nil || now != held {
		t.Fatalf("Stat = %v, %v; the root is %v", now, err, held)
	}
	fd := r.fd
	os.Rename(path, path+".old")
	os.Mkdir(path, 0o755)
	os.WriteFile(filepath.Join(path, "b"), nil, 0o644)
	now, err := Stat(path)
	if err != nil || now == held {
		t.Fatalf("Stat of the new directory = %v, %v; the root is %v", now, err, held)
	}
	id, err := r.Reopen(path)
	if err != nil || id != now || r.fd != fd {
		t.Fatalf("Reopen = %v, %v, fd %d; want %v, fd %d", id, err, r.fd, now, fd)
	}
	if f, err := r.Open("b"); err != nil {
		t.Errorf("Open(b) in the new directory: %v", err)
	} else {
		f.Close()
	}
	if _, err := r.Open("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(a), which only the old directory has: %v", err)
	}
	os.RemoveAll(path)
	if _, err := Stat(path); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "newfstatat:") {
		t.Errorf("Stat of a removed directory: %v", err)
	}
	os.WriteFile(path, nil, 0o644)
	if _, err := r.Reopen(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Reopen of a file: %v, want ENOTDIR (fs.ErrNotExist)", err)
	}
	if id, _ := r.ID(); id != now {
		t.Errorf("a failed Reopen changed the root: %v, was %v", id, now)
	}
}

// Opens go on while another thread reopens the root, 200 times, between two
// directories that both have the file: every open finds it, and no
// descriptor is left behind. Run with -race.
func TestRootReopenWhileOpening(t *testing.T) {
	base := t.TempDir()
	dirs := []string{filepath.Join(base, "one"), filepath.Join(base, "two")}
	for _, d := range dirs {
		os.Mkdir(d, 0o755)
		os.WriteFile(filepath.Join(d, "f"), nil, 0o644)
	}
	r, err := OpenRoot(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := countFDs(t)
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(done)
		for i := range 200 {
			if _, err := r.Reopen(dirs[i%2]); err != nil {
				errs <- err
				return
			}
		}
	}()
	for opens := 0; ; opens++ {
		select {
		case <-done:
			select {
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			if after := countFDs(t); after != before {
				t.Errorf("%d descriptors after 200 reopens, %d before", after, before)
			}
			t.Logf("%d opens during 200 reopens", opens)
			return
		default:
		}
		f, err := r.Open("f")
		if err != nil {
			t.Fatalf("open %d: %v", opens, err)
		}
		f.Close()
	}
}

// RunningAsRoot reads the effective uid from the auxiliary vector: it must
// agree with geteuid(2).
func TestRunningAsRoot(t *testing.T) {
	if got, want := RunningAsRoot(), os.Geteuid() == 0; got != want {
		t.Errorf("RunningAsRoot() = %v, geteuid says %v", got, want)
	}
}
