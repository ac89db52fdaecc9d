// Package static maps a request path to a file below a root directory.
//
// The path is judged twice. CleanPath judges its text alone — no system
// call — and refuses whatever is malformed or names a hidden file. The
// kernel then judges where the cleaned path leads: sock.Root opens it with
// openat2(2) and RESOLVE_BENEATH, so even a symlink cannot lead outside the
// root. Neither check trusts the other to have been done.
package static

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// Dir serves files below a root directory. Every serving loop calls Lookup
// at once: the root's descriptor never changes, and what does change when
// the directory is replaced is kept in atomics, with a mutex for the
// replacement itself only (see root.go).
type Dir struct {
	root *sock.Root
	path string // as given to Open: where the root is looked for again
	// List serves an HTML listing for a directory without index.html,
	// instead of 403.
	List bool
	// Log gets one line when the directory at the path is replaced, goes
	// or comes back, and the first time root serves a file not everyone
	// may read (nil: no line). Set it, like List, before serving.
	Log io.Writer

	asRoot      bool        // running as root: permissions keep nothing from being served
	warnedPerms atomic.Bool // the line about that has been written

	state     atomic.Pointer[rootState] // what the root's descriptor holds, or gone
	start     time.Time                 // for the monotonic clock nextCheck counts on
	nextCheck atomic.Int64              // ns after start: when a hit next checks the root
	reopening sync.Mutex                // held by the one loop that reopens the root
}

// Open opens dir once; every Lookup resolves below it — and reopens it when
// the path comes to name another directory (root.go).
func Open(dir string) (*Dir, error) {
	r, err := sock.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	id, err := r.ID()
	if err != nil {
		r.Close()
		return nil, err
	}
	d := &Dir{root: r, path: dir, start: time.Now(), asRoot: sock.RunningAsRoot()}
	d.state.Store(&rootState{id: id})
	d.nextCheck.Store(int64(checkEvery))
	return d, nil
}

// Has reports whether name, a path below the root ("_faults"), exists.
func (d *Dir) Has(name string) bool {
	var st sock.FileStat
	return d.root.Statx(append([]byte(name), 0), &st) == nil
}

// Close releases the root directory. Files returned by Lookup stay usable.
func (d *Dir) Close() error { return d.root.Close() }

// Result is what a request path resolves to.
type Result struct {
	Status      int        // 200, 301, 400, 403, 404, 500
	File        *sock.File // open regular file when Status == 200; the caller closes it
	Body        []byte     // or, for a directory listing, the page itself
	ContentType string     // when 200
	Location    string     // when 301: the cleaned path, re-encoded, with "/" appended
	Name        string     // when 200 with a File: its path below the root, as opened (index.html included)
}

// indexName is served for a path that names a directory with a trailing
// slash. Without it, the answer is 403, or a listing with List.
const indexName = "index.html"

// Lookup resolves a raw request path (the path part of the request-target,
// still percent-encoded, starting with "/"). Only a 200 carries an open
// file; on every other status nothing is left open.
//
//   - CleanPath refuses: 400, 403 or 404 (see there).
//   - A path ending in "/" opens dir/index.html directly, in one open. If
//     that fails because there is no index (or index.html is itself a
//     directory) but the directory exists: 403 — it is there, not for
//     browsing — or with List, its listing. A regular file asked as a
//     directory (ENOTDIR) or a missing directory: 404.
//   - A path without the trailing slash that names a directory gives 301 to
//     the same path with "/", so that relative links in its index resolve
//     against the directory rather than its parent.
//   - ContentType comes from the name asked for (or index.html), not from
//     where a symlink leads: the kernel resolved the link, and we never
//     learn the target's name.
//   - Neither a regular file nor a directory (FIFO, socket, device), a
//     symlink leaving the root, or EACCES: 403. Missing: 404. Anything
//     else the kernel says (EMFILE, EIO...): 500.
//   - Before any of that, the root itself is checked (root.go), at most
//     once per request: on the first request after a second has passed,
//     and whenever the first open finds nothing (404). A replaced
//     directory is reopened and the open made again; while the path names
//     no directory at all, every request is 404.
func (d *Dir) Lookup(rawPath []byte) Result {
	rel, dir, status := CleanPath(rawPath)
	if status != 0 {
		return Result{Status: status}
	}
	checked := d.checkDue()
	if checked && d.checkRoot(d.state.Load()) == rootGone {
		return Result{Status: 404}
	}
	name := rel
	if dir {
		if rel == "" {
			name = indexName
		} else {
			name = rel + "/" + indexName
		}
	}
	root := d.state.Load() // what the open below is made in, or newer
	f, err := d.root.Open(name)
	if err != nil && !checked && errors.Is(err, fs.ErrNotExist) {
		// A miss is what a replaced root looks like: the descriptor may
		// hold the old directory, deleted, in which every name is ENOENT.
		switch d.checkRoot(root) {
		case rootGone:
			return Result{Status: 404}
		case rootReopened:
			f, err = d.root.Open(name)
		}
	}
	if err != nil {
		status := errStatus(err)
		if status == 404 && dir {
			return d.noIndex(rel)
		}
		return Result{Status: status}
	}
	if f.IsDir {
		f.Close()
		if dir {
			return Result{Status: 403} // index.html is a directory: no index
		}
		// The Location is rebuilt from the cleaned path, not echoed from
		// the request: "//evil.example" would otherwise come back as a
		// scheme-relative redirect to another host.
		return Result{Status: 301, Location: "/" + escapePath(rel) + "/"}
	}
	if d.asRoot && f.Perm&0o004 == 0 {
		d.warnPerms(name, f.Perm)
	}
	return Result{Status: 200, File: f, ContentType: ContentType(name), Name: name}
}

// warnPerms says, once, that root has served a file whose mode keeps others
// from reading it. Anyone but root would have been refused (EACCES, 403);
// root reads every file, so below the root directory permissions are no
// boundary — a private key left there with mode 0600 is served all the
// same. Said when it happens rather than at start-up, when nothing is known
// yet about the files, and with no system call: fstat gave the mode.
func (d *Dir) warnPerms(name string, perm uint32) {
	if !d.warnedPerms.Load() && d.warnedPerms.CompareAndSwap(false, true) {
		d.logf("rawserve: warning: running as root, which may read any file: served %q (mode %#o), which not everyone may read; "+
			"permissions keep nothing below -dir from being served (this is said once)\n", "/"+name, perm)
	}
}

// noIndex answers a path ending in "/" whose index.html is missing: 404 if
// rel is no directory either; if it is, its listing with List, else 403 —
// the directory is there, but not for browsing. It costs an open and a close
// on a path that is not served anyway.
func (d *Dir) noIndex(rel string) Result {
	f, err := d.root.Open(rel)
	if err != nil {
		return Result{Status: 404}
	}
	defer f.Close()
	switch {
	case !f.IsDir:
		return Result{Status: 404}
	case !d.List:
		return Result{Status: 403}
	}
	body, status := listing(f, rel)
	return Result{Status: status, Body: body, ContentType: "text/html; charset=utf-8"}
}

func errStatus(err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 404
	case errors.Is(err, fs.ErrPermission):
		return 403
	}
	return 500
}

// pathBuf is the size of CleanPath's stack buffer: paths up to this long are
// cleaned without a heap allocation beyond the returned string.
const pathBuf = 256

// CleanPath percent-decodes rawPath once and cleans it. It returns the path
// relative to the root ("" for the root itself) and whether it named a
// directory (it ended in "/", or in a "." or ".." segment); or, for what must
// be refused, status 400, 403 or 404 — status 0 means rel is good to open. It
// makes no system call.
//
// The rules, in the order they are applied:
//
//   - It must start with "/" and contain no control byte: 400.
//   - Every "%" must be followed by two hex digits: 400. Decoding happens
//     exactly once, so "%252e" is the file literally named "%2e", never ".".
//   - NUL, raw or as %00: 400 — the kernel would end the name there.
//   - An encoded slash %2F: 400 — decoding it would move segment boundaries
//     after the client chose them; "a%2F..%2F.." must not become "a/../..".
//   - A backslash, raw or %5C: 400 — a Windows separator, only ever sent to
//     try traversal, and never part of a name we serve.
//   - Empty segments ("//") collapse; "." and ".." segments are removed as
//     RFC 3986 §5.2.4 says (after decoding, so %2e%2e is ".."), except that
//     a ".." that would climb above the root is 403 Forbidden: clamping it
//     silently would answer an attack as if it were a request.
//   - Any other segment beginning with "." — .git, .env, .htpasswd, %2egit
//     — is 404, even if a later ".." would remove it: hidden files are never
//     served, and 404 does not confirm that they exist.
func CleanPath(rawPath []byte) (rel string, dir bool, status int) {
	var stack [pathBuf]byte
	out, dir, status := cleanPath(stack[:0], rawPath)
	return string(out), dir, status
}

// cleanPath is CleanPath appending the cleaned path to dst, for a caller
// that keeps a buffer of its own (Cache: no allocation on a hit).
func cleanPath(dst, rawPath []byte) (out []byte, dir bool, status int) {
	if len(rawPath) == 0 || rawPath[0] != '/' {
		return dst, false, 400
	}
	// First pass: reject malformed bytes wherever they are, so that a
	// bad request is 400 whatever its segments would have said.
	for i := 0; i < len(rawPath); i++ {
		c := rawPath[i]
		switch {
		case c < 0x20 || c == 0x7f || c == '\\':
			return dst, false, 400
		case c == '%':
			if i+2 >= len(rawPath) {
				return dst, false, 400
			}
			hi, ok1 := unhex(rawPath[i+1])
			lo, ok2 := unhex(rawPath[i+2])
			if !ok1 || !ok2 {
				return dst, false, 400
			}
			if b := hi<<4 | lo; b == 0 || b == '/' || b == '\\' {
				return dst, false, 400
			}
			i += 2
		}
	}

	// Second pass: decode each segment onto the end of out, then keep,
	// drop or pop it. out holds the cleaned segments joined by "/".
	base := len(dst)
	out = dst
	for p := rawPath[1:]; ; {
		seg, rest, more := p, p[:0], false
		if i := bytes.IndexByte(p, '/'); i >= 0 {
			seg, rest, more = p[:i], p[i+1:], true
		}
		mark := len(out)
		if mark > base {
			out = append(out, '/')
		}
		start := len(out)
		out = appendDecoded(out, seg)
		switch s := out[start:]; {
		case len(s) == 0 || (len(s) == 1 && s[0] == '.'):
			out = out[:mark]
			dir = true
		case len(s) == 2 && s[0] == '.' && s[1] == '.':
			if mark == base {
				return dst, false, 403
			}
			out = out[:max(bytes.LastIndexByte(out[base:mark], '/')+base, base)]
			dir = true
		case s[0] == '.':
			return dst, false, 404
		default:
			dir = false
		}
		if !more {
			break
		}
		p = rest
	}
	return out, dir, 0
}

// appendDecoded appends seg to dst with %XX escapes decoded. CleanPath has
// already checked every escape.
func appendDecoded(dst, seg []byte) []byte {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' && i+2 < len(seg) {
			hi, _ := unhex(seg[i+1])
			lo, _ := unhex(seg[i+2])
			c = hi<<4 | lo
			i += 2
		}
		dst = append(dst, c)
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapePath percent-encodes a cleaned path for a Location header: bytes
// that may stand in a path segment as they are (RFC 3986 pchar, minus "%"),
// and "/", stay; everything else — controls, space, "?", "#", "%", non-ASCII
// — is escaped, so the header can neither be split nor reinterpreted.
func escapePath(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isPathByte(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPathByte(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func isPathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}
