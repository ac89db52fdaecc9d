package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The site's shape. Sizes cycle over 1 B, 4 KiB and 64 KiB (the largest
// file -file-cache keeps); a few files of 1 MiB are sent with sendfile.
const (
	smallFiles   = 300
	bigFiles     = 8
	bigSize      = 1 << 20
	listingNames = 3000
	keepVersions = 4 // versions of a file remembered; older ones are forgotten
)

var smallSizes = []int{1, 4 << 10, 64 << 10}

// settleBound is how long after a change on disk rawserve may still answer
// as before: the file cache's TTL (1 s), the once-a-second check of a held
// root against its path (issue #13, defect 9), and a second to spare. A
// request that starts later must get the file's newest version.
const settleBound = 3 * time.Second

// A site is the directory rawserve serves, and every version each of its
// files has had while the soak ran: a response is judged against the bytes
// the file held when it was asked for.
type site struct {
	root   string // the temporary directory holding the site and the secret
	dir    string // the directory served (-dir)
	marker []byte // the secret's content, outside dir: never in a response

	mu    sync.Mutex
	files map[string]*file // by URL path, "/f001.bin"
	names []string         // the URL paths, sorted
	big   []string         // URL paths of the 1 MiB files
}

// probePath is the small file a fresh client asks for.
const probePath = "/f001.bin"

// listingPath is the directory with listingNames entries (served with -list).
const listingPath = "/big/"

type file struct {
	base     int       // size of version 0; version n is base + n%3 bytes
	versions []version // the last keepVersions, oldest first
	// A request started before settle may get any remembered version;
	// one started later, only the newest.
	settle time.Time
	// Before gapUntil the file may have been missing for a moment (its
	// whole directory was being replaced): 404 is an answer then.
	gapUntil time.Time
}

type version struct {
	n    int
	body []byte
}

// content is version n of the file at urlPath: pseudo-random bytes, so that
// a body from another file, version or offset never matches by chance.
func content(urlPath string, n, base int) []byte {
	sum := sha256.Sum256([]byte(urlPath + "\x00" + strconv.Itoa(n)))
	b := make([]byte, base+n%3)
	rand.NewChaCha8(sum).Read(b)
	return b
}

// newSite makes the site under a new temporary directory.
func newSite() (*site, error) {
	root, err := os.MkdirTemp("", "soak")
	if err != nil {
		return nil, err
	}
	s := &site{root: root, dir: filepath.Join(root, "site"), files: make(map[string]*file)}
	var m [16]byte
	binary.LittleEndian.PutUint64(m[:], rand.Uint64())
	s.marker = []byte(fmt.Sprintf("SOAK-SECRET-%x", m[:8]))
	if err := os.WriteFile(filepath.Join(root, "secret.txt"), s.marker, 0o644); err != nil {
		return nil, err
	}
	for i := range smallFiles {
		s.add(fmt.Sprintf("/f%03d.bin", i), smallSizes[i%len(smallSizes)])
	}
	for i := range bigFiles {
		p := fmt.Sprintf("/big%d.bin", i)
		s.add(p, bigSize)
		s.big = append(s.big, p)
	}
	slices.Sort(s.names)
	return s, s.populate()
}

// newWitnessSite makes the witness's site, the probe's file alone, in
// under (which the soak removes at the end).
func newWitnessSite(under string) (*site, error) {
	root := filepath.Join(under, "witness")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, err
	}
	s := &site{root: root, dir: filepath.Join(root, "site"), marker: []byte("SOAK-WITNESS"), files: make(map[string]*file)}
	s.add(probePath, smallSizes[1])
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		return nil, err
	}
	return s, os.WriteFile(filepath.Join(s.dir, probePath), s.files[probePath].newest().body, 0o644)
}

func (s *site) add(urlPath string, base int) {
	s.files[urlPath] = &file{base: base, versions: []version{{0, content(urlPath, 0, base)}}}
	s.names = append(s.names, urlPath)
}

func (s *site) remove() { os.RemoveAll(s.root) }

// populate writes dir afresh from the newest version of every file: the
// files, the big directory for -list, and a symlink that leads out of it.
func (s *site) populate() error {
	if err := os.MkdirAll(filepath.Join(s.dir, "big"), 0o755); err != nil {
		return err
	}
	for i := range listingNames {
		if err := os.WriteFile(filepath.Join(s.dir, "big", listingName(i)), nil, 0o644); err != nil {
			return err
		}
	}
	if err := os.Symlink("../secret.txt", filepath.Join(s.dir, "escape")); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, f := range s.files {
		if err := os.WriteFile(filepath.Join(s.dir, name), f.newest().body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func listingName(i int) string { return fmt.Sprintf("e%05d", i) }

func (f *file) newest() version { return f.versions[len(f.versions)-1] }

// next adds the file's next version and returns it; the caller holds s.mu.
// Until settled, the file may be answered with any version.
func (f *file) next(urlPath string) version {
	v := version{f.newest().n + 1, nil}
	v.body = content(urlPath, v.n, f.base)
	f.versions = append(f.versions, v)
	if len(f.versions) > keepVersions {
		f.versions = slices.Delete(f.versions, 0, len(f.versions)-keepVersions)
	}
	f.settle = farFuture
	return v
}

var farFuture = time.Now().Add(100 * 365 * 24 * time.Hour)

// replace writes the next version of urlPath beside it, under a hidden name
// that rawserve refuses to serve, and renames it over the file: a reader
// sees the old file or the new one, never neither.
func (s *site) replace(urlPath string) error {
	s.mu.Lock()
	f := s.files[urlPath]
	v := f.next(urlPath)
	s.mu.Unlock()
	tmp := filepath.Join(s.dir, ".soak-"+strconv.FormatUint(rand.Uint64(), 36))
	err := os.WriteFile(tmp, v.body, 0o644)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, urlPath))
	}
	s.mu.Lock()
	f.settle = time.Now().Add(settleBound)
	s.mu.Unlock()
	return err
}

// recreate replaces the whole directory with one holding a new version of
// every file, the way test fixtures do: with "rm -rf site && mkdir site"
// (moveAside false), or "mv site site.old && mkdir site" (true; site.old is
// returned, for the caller to remove later). Until it has settled, any
// version, or 404, is an answer.
func (s *site) recreate(moveAside bool) (old string, err error) {
	s.mu.Lock()
	for name, f := range s.files {
		f.next(name)
		f.gapUntil = farFuture
	}
	s.mu.Unlock()
	if moveAside {
		old = s.dir + ".old"
		os.RemoveAll(old)
		err = os.Rename(s.dir, old)
	} else {
		err = os.RemoveAll(s.dir)
	}
	if err == nil {
		err = s.populate()
	}
	s.mu.Lock()
	until := time.Now().Add(settleBound)
	for _, f := range s.files {
		f.settle, f.gapUntil = until, until
	}
	s.mu.Unlock()
	return old, err
}

// A request as the soak sends it, for check to judge the answer by.
type request struct {
	method string // GET or HEAD
	target string // the request-target as sent
	rng    string // the Range field's value, or ""
	start  time.Time
	tries  int // connections it was sent on before this one
}

// check judges a response to a request for one of the site's files. body
// is the whole body as read. It returns nil if the answer is one rawserve
// may give: the file's bytes (or the requested ranges of them) in a version
// the file held while the request was in flight, or, while the directory
// was being replaced, 404.
func (s *site) check(name string, req request, resp *http.Response, body []byte) error {
	fail := func(kind, format string, args ...any) error {
		return kinded(kind, fmt.Errorf("%s %s%s: %s", req.method, req.target, rangeNote(req.rng), fmt.Sprintf(format, args...)))
	}
	if bytes.Contains(body, s.marker) {
		return fail("secret", "the body holds the secret from outside the root")
	}
	s.mu.Lock()
	f := s.files[name]
	if f == nil {
		s.mu.Unlock()
		return fail("soak's bug", "no such file in the site")
	}
	versions := f.versions
	allowed := versions
	if !req.start.Before(f.settle) {
		allowed = versions[len(versions)-1:]
	}
	gap := req.start.Before(f.gapUntil)
	s.mu.Unlock()

	// match returns the newest of vs the answer is, or -1.
	var match func(vs []version) int
	switch resp.StatusCode {
	case http.StatusOK:
		match = func(vs []version) int {
			for i := len(vs) - 1; i >= 0; i-- {
				v := vs[i]
				if req.method == "HEAD" && resp.ContentLength == int64(len(v.body)) ||
					req.method != "HEAD" && bytes.Equal(body, v.body) {
					return v.n
				}
			}
			return -1
		}
	case http.StatusPartialContent:
		if req.rng == "" {
			return fail("status", "206 to a request without Range")
		}
		parts, err := rangeParts(resp, body)
		if err != nil {
			return fail("mismatch", "%v", err)
		}
		match = func(vs []version) int {
			for i := len(vs) - 1; i >= 0; i-- {
				if partsMatch(parts, req.rng, vs[i].body) {
					return vs[i].n
				}
			}
			return -1
		}
	case http.StatusNotFound, http.StatusForbidden:
		if gap {
			return nil
		}
		return fail("lost", "%d for a file that is there", resp.StatusCode)
	default:
		return fail("status", "unexpected status %d", resp.StatusCode)
	}
	if match(allowed) >= 0 {
		return nil
	}
	if n := match(versions); n >= 0 {
		return fail("stale", "%d with version %d's bytes, replaced by version %d more than %v before the request",
			resp.StatusCode, n, versions[len(versions)-1].n, settleBound)
	}
	return fail("mismatch", "%d with %d bytes (Content-Length %d) that match no version of the file", resp.StatusCode, len(body), resp.ContentLength)
}

func rangeNote(rng string) string {
	if rng == "" {
		return ""
	}
	return " (Range: " + rng + ")"
}

// A part of a 206 response: the range it claims, and its bytes.
type part struct {
	first, last, total int
	body               []byte
}

// rangeParts splits a 206 response into its parts: one, from the
// Content-Range field, or several from a multipart/byteranges body.
func rangeParts(resp *http.Response, body []byte) ([]part, error) {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		p, err := parseContentRange(resp.Header.Get("Content-Range"))
		p.body = body
		return []part{p}, err
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts []part
	for {
		mp, err := r.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("multipart body: %v", err)
		}
		p, err := parseContentRange(mp.Header.Get("Content-Range"))
		if err != nil {
			return nil, err
		}
		if p.body, err = io.ReadAll(mp); err != nil {
			return nil, fmt.Errorf("multipart body: %v", err)
		}
		parts = append(parts, p)
	}
}

// parseContentRange reads "bytes FIRST-LAST/TOTAL".
func parseContentRange(s string) (part, error) {
	var p part
	if _, err := fmt.Sscanf(s, "bytes %d-%d/%d", &p.first, &p.last, &p.total); err != nil {
		return p, fmt.Errorf("Content-Range %q: %v", s, err)
	}
	return p, nil
}

// partsMatch reports whether parts are exactly the ranges rng asks of body.
func partsMatch(parts []part, rng string, body []byte) bool {
	want := resolveRanges(rng, len(body))
	if len(want) != len(parts) {
		return false
	}
	for i, p := range parts {
		if p.total != len(body) || p.first != want[i][0] || p.last != want[i][1] ||
			!bytes.Equal(p.body, body[p.first:p.last+1]) {
			return false
		}
	}
	return true
}

// resolveRanges turns "bytes=A-B,A-,-N" into inclusive [first, last] pairs
// for a body of size bytes. The soak asks only for ranges that fit.
func resolveRanges(rng string, size int) [][2]int {
	var out [][2]int
	for _, r := range strings.Split(strings.TrimPrefix(rng, "bytes="), ",") {
		a, b, _ := strings.Cut(r, "-")
		switch {
		case a == "":
			n, _ := strconv.Atoi(b)
			out = append(out, [2]int{size - min(n, size), size - 1})
		case b == "":
			first, _ := strconv.Atoi(a)
			out = append(out, [2]int{first, size - 1})
		default:
			first, _ := strconv.Atoi(a)
			last, _ := strconv.Atoi(b)
			out = append(out, [2]int{first, min(last, size-1)})
		}
	}
	return out
}

// pick returns a file to ask for, mostly small ones: one in 20 is a 1 MiB
// file.
func (s *site) pick(r *rand.Rand) string {
	if r.IntN(20) == 0 {
		return s.big[r.IntN(len(s.big))]
	}
	return s.names[r.IntN(len(s.names))]
}

// randomRange returns a Range value that fits every version of the file
// (ranges fall within its base size), or "" for none; several ranges, in
// order and apart, for a multipart answer.
func (s *site) randomRange(r *rand.Rand, name string) string {
	s.mu.Lock()
	base := s.files[name].base
	s.mu.Unlock()
	if base < 16 {
		return "bytes=0-0"
	}
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("bytes=-%d", 1+r.IntN(base))
	case 1:
		return fmt.Sprintf("bytes=%d-", r.IntN(base))
	case 2:
		a := r.IntN(base / 2)
		return fmt.Sprintf("bytes=%d-%d", a, a+r.IntN(base/2))
	}
	third := base / 3
	a := r.IntN(third - 1)
	c := third + 1 + r.IntN(third)
	return fmt.Sprintf("bytes=%d-%d,%d-%d", a, a+r.IntN(third-a), c, c+r.IntN(third))
}

// resolve maps a request-target to the URL path of a site file it names
// (percent-decoded once, dot segments removed, the query dropped), or "".
func (s *site) resolve(target string) string {
	if rest, ok := strings.CutPrefix(target, "http://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			target = rest[i:]
		}
	}
	target, _, _ = strings.Cut(target, "?")
	p, err := url.PathUnescape(target)
	if err != nil || !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return ""
	}
	p = path.Clean(p)
	if _, ok := s.files[p]; ok {
		return p
	}
	return ""
}
