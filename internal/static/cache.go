package static

import (
	"strconv"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// Cache keeps small files in memory, so that a request for one costs no
// openat2, fstat, sendfile or close — and is never answered with what the
// file used to say. Every hit is checked on disk first, with one statx(2)
// of its name below the root (and one for each directory above it),
// compared with what statx said when the bytes were read: device, inode,
// type, size, mtime and ctime. ctime is the one that matters: every write,
// chmod, rename over and utimes moves it to now, and no call can set it
// back — so `cp -p`, `touch -d`, `rsync -t` and a build that normalises
// mtimes are all seen, where comparing mtime alone would serve the old
// bytes for ever.
//
// A timestamp is only as fine as the clock that made it, though: the
// kernel stamps a write with a coarse clock (one tick, 1 to 10 ms; on
// kernels before 6.13 always, on later ones unless the file was looked at
// since its last change), so a second write in the same tick as the one
// whose result was read leaves every field as it was. Git calls such an
// entry racily clean; the answer is the same here: a file whose ctime is
// not safely older than the moment its bytes were read (racyMargin, or
// coarseMargin where the file system keeps whole seconds) is read again
// on its next request, until it is. What no timestamp can catch: a writer
// racing the read (any server may then send a torn file; replace files by
// rename to be safe) and writes through mmap, which stamp the file late.
//
// A hit is validated at most once per batch: requests all read before the
// batch's first check are answered as of one moment (see Get, and
// httpconn.Server.NewBatch for what a batch is in each model).
//
// Keys are the cleaned path, never the raw request (`/x/../index.html` and
// `/index.html` are one entry), and the memory is bounded: the bytes, the
// keys and a fixed cost per entry all count against the limit, and when a
// new file does not fit, the least recently used ones go (CLOCK: a sweep
// that spares each entry hit since it last passed, once). A name that
// reaches its file through a symlink as its last component is never cached:
// its statx would describe the link.
//
// A Cache belongs to one serving loop and is not safe for concurrent use:
// each epoll loop has its own, so no lock sits on the request path, and the
// limit is shared out among the loops.
type Cache struct {
	dir   *Dir
	limit int64         // bytes the entries may cost in all
	used  int64         // what they cost now
	trust time.Duration // -file-cache-trust: a hit this soon after its last check is not checked

	entries map[string]*Entry
	ring    []*Entry // CLOCK's circle; a nil slot is free
	free    []int    // the free slots of ring
	hand    int

	key []byte // the cleaned path of the request in hand

	// The last hit: its entry and the raw path it was asked for by
	// (remember). Cleared when the entry goes.
	last     *Entry
	lastPath []byte

	// Counts, for tests and curiosity.
	hits, misses, evictions, racyRereads int
}

// MaxCachedFile is the largest file the cache keeps; larger ones are sent
// from disk with sendfile(2), where keeping a copy would save little.
const MaxCachedFile = 64 << 10

// DefaultCacheBytes is -file-cache-size's default, for all loops together.
const DefaultCacheBytes = 32 << 20

// entryCost is what an entry costs beyond its bytes and its names: the
// Entry itself, its map slot, its slices' headers, and the Last-Modified
// text and response head the server keeps with it (a head is under 300
// bytes), rounded up.
const entryCost = 640

// racyMargin is how much older than the read a file's ctime must be for the
// copy to be trusted: more than one tick of the kernel's coarse clock at
// the lowest HZ a kernel is built with (100: 10 ms), with room to spare.
// coarseMargin is the same where the file system keeps whole seconds (both
// timestamps with no nanoseconds: ext4 with small inodes, FAT, some network
// file systems).
const (
	racyMargin   = 20 * time.Millisecond
	coarseMargin = 2 * time.Second
)

// Entry is a cached file: its bytes, and the validators its responses
// carry.
type Entry struct {
	Body        []byte
	ContentType string
	ETag        []byte // a hash of Body: it changes exactly when the bytes do
	ModTime     time.Time
	// LastModified is the Last-Modified field's value, written by the
	// server on the entry's first use and kept with it.
	LastModified []byte
	// Head is the head of a whole 200 response with this body, composed by
	// the server on first use and kept with it; HeadDate is where its Date
	// value starts, rewritten in place when the second changes.
	Head     []byte
	HeadDate int

	key   string
	name  []byte     // key, NUL-terminated, for statx
	dirs  []dirCheck // the directories above it
	stat  sock.FileStat
	racy  bool      // read too soon after its last change: read it again
	check time.Time // when it was last validated
	batch uint64    // the batch it was last validated in
	ref   bool      // hit since the clock hand last passed
	slot  int       // its place in ring
	cost  int64
}

// dirCheck is a directory above a cached file, NUL-terminated, and its
// FileID when the file was read. A hit checks that each is still that
// directory and not a symlink: a directory moved out of the root and
// linked back would otherwise keep its files served, which openat2's
// RESOLVE_BENEATH refuses.
type dirCheck struct {
	name []byte
	id   sock.FileID
}

// NewCache returns a cache for the files of d that may cost limit bytes in
// all. trust, when positive, lets a hit go unchecked that long after its
// last check (a changed file is then served stale until then).
func NewCache(d *Dir, limit int64, trust time.Duration) *Cache {
	return &Cache{dir: d, limit: limit, trust: trust, entries: make(map[string]*Entry),
		key: make([]byte, 0, pathBuf), lastPath: make([]byte, 0, pathBuf)}
}

// Get returns the entry for a raw request path if it holds the file as it
// is now, or nil: then the caller looks the path up (Dir.Lookup) and
// offers the result to Put. batch names the batch the request came in (0:
// none); an entry validated in the same batch is not validated again. Get
// allocates nothing, hit or miss.
func (c *Cache) Get(rawPath []byte, batch uint64, now time.Time) *Entry {
	if e := c.last; e != nil && batch != 0 && e.batch == batch && !e.racy && string(rawPath) == string(c.lastPath) {
		// The same path as the hit before, in the same batch: the same
		// entry, without cleaning the path and looking it up again.
		e.ref = true
		c.hits++
		return e
	}
	key, dir, status := cleanPath(c.key[:0], rawPath)
	c.key = key[:0]
	if status != 0 {
		return nil // Lookup gives the answer
	}
	if dir {
		if len(key) > 0 {
			key = append(key, '/')
		}
		key = append(key, indexName...)
		c.key = key[:0]
	}
	e := c.entries[string(key)]
	if e == nil {
		c.misses++
		return nil
	}
	if batch != 0 && e.batch == batch && !e.racy {
		// Validated in this batch, and the root checked when due: the
		// requests of one batch arrived together.
		e.ref = true
		c.hits++
		c.remember(rawPath, e)
		return e
	}
	// The root's own check (root.go), which Lookup would have made: a hit
	// must not keep a replaced directory's files served.
	if c.dir.checkDue() && c.dir.checkRoot(c.dir.state.Load()) != rootSame {
		c.remove(e)
		c.misses++
		return nil
	}
	switch {
	case c.trust > 0 && now.Sub(e.check) < c.trust && !e.racy:
	case !c.valid(e):
		c.remove(e)
		c.misses++
		return nil
	case e.racy:
		// Unchanged by every field, but too young to tell: read again.
		c.racyRereads++
		c.misses++
		return nil
	default:
		e.check, e.batch = now, batch
	}
	e.ref = true
	c.hits++
	c.remember(rawPath, e)
	return e
}

// remember keeps the raw path of a hit and its entry: a pipelined batch
// asks for the same path again and again.
func (c *Cache) remember(rawPath []byte, e *Entry) {
	if len(rawPath) <= pathBuf {
		c.last, c.lastPath = e, append(c.lastPath[:0], rawPath...)
	}
}

// valid makes the statx calls of a hit: each directory above the file is
// still the directory it was, and the file the same file, unchanged.
func (c *Cache) valid(e *Entry) bool {
	var st sock.FileStat
	for _, d := range e.dirs {
		if c.dir.root.Statx(d.name, &st) != nil || !st.IsDir() || st.ID != d.id {
			return false
		}
	}
	return c.dir.root.Statx(e.name, &st) == nil && sameFile(&st, &e.stat)
}

// sameFile compares what matters of two statx answers: the permission bits
// too, since a file made unreadable must stop being served from memory.
func sameFile(a, b *sock.FileStat) bool {
	const modeBits = 0o170777 // type and permissions
	return a.ID == b.ID && a.Mode&modeBits == b.Mode&modeBits && a.Size == b.Size &&
		a.Mtime == b.Mtime && a.Ctime == b.Ctime
}

// Put is offered what Lookup found for a request that Get missed. A small
// regular file, reached by its own name rather than through a symlink, is
// read into memory and returned as an entry: the caller closes res.File
// and answers from the entry. Otherwise Put returns nil and the caller
// serves the file from disk.
func (c *Cache) Put(res Result, now time.Time) *Entry {
	f := res.File
	if f == nil || f.IsDir || f.Size > MaxCachedFile || res.Name == "" {
		return nil
	}
	if old := c.entries[res.Name]; old != nil {
		c.remove(old) // it changed (or is racy): this read replaces it
	}
	cost := f.Size + 2*int64(len(res.Name)) + entryCost
	if cost > c.limit {
		return nil
	}
	// What statx says of the name and each directory above it, now, as a
	// hit will ask: it must be the file Lookup opened.
	e := &Entry{key: res.Name, name: append([]byte(res.Name), 0), ContentType: res.ContentType, ModTime: f.ModTime, cost: cost}
	for i := 0; i < len(res.Name); i++ {
		if res.Name[i] != '/' {
			continue
		}
		d := dirCheck{name: append([]byte(res.Name[:i]), 0)}
		var st sock.FileStat
		if c.dir.root.Statx(d.name, &st) != nil || !st.IsDir() {
			return nil // a symlinked directory: not cached
		}
		d.id = st.ID
		e.dirs = append(e.dirs, d)
		e.cost += int64(len(d.name))
	}
	opened := f.StatOf()
	if c.dir.root.Statx(e.name, &e.stat) != nil || !sameFile(&e.stat, &opened) {
		return nil // a symlink to the file, or it changed already
	}
	readAt := time.Now()
	e.Body = make([]byte, f.Size)
	if f.ReadFull(e.Body) != nil {
		return nil
	}
	margin := racyMargin
	if e.stat.Mtime%1e9 == 0 && e.stat.Ctime%1e9 == 0 {
		margin = coarseMargin
	}
	e.racy = e.stat.Ctime >= readAt.UnixNano()-int64(margin)
	e.ETag = contentTag(e.Body)
	e.check = now
	c.evictFor(e.cost)
	c.insert(e)
	return e
}

// contentTag is an entity-tag made from the bytes themselves: the size and
// a 64-bit FNV-1a hash, in hex. Unlike a tag made from fstat, it cannot
// survive a change of content, however fast or however disguised.
func contentTag(b []byte) []byte {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	tag := strconv.AppendUint([]byte{'"'}, uint64(len(b)), 16)
	tag = strconv.AppendUint(append(tag, '.'), h, 16)
	return append(tag, '"')
}

// evictFor makes room for cost bytes: the clock hand sweeps the ring,
// sparing (once) each entry hit since it last passed.
func (c *Cache) evictFor(cost int64) {
	for c.used+cost > c.limit && len(c.entries) > 0 {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		c.hand++
		switch {
		case e == nil:
		case e.ref:
			e.ref = false
		default:
			c.remove(e)
			c.evictions++
		}
	}
}

func (c *Cache) insert(e *Entry) {
	if n := len(c.free); n > 0 {
		e.slot, c.free = c.free[n-1], c.free[:n-1]
		c.ring[e.slot] = e
	} else {
		e.slot = len(c.ring)
		c.ring = append(c.ring, e)
	}
	c.entries[e.key] = e
	c.used += e.cost
}

func (c *Cache) remove(e *Entry) {
	if c.last == e {
		c.last = nil
	}
	delete(c.entries, e.key)
	c.ring[e.slot] = nil
	c.free = append(c.free, e.slot)
	c.used -= e.cost
}
