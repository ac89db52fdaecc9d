package static

import (
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// Cache keeps small files in memory, so that answering for one costs no
// system call but the read of the request and the write of the response:
// no openat2, fstat, sendfile or close. It is what nginx's open_file_cache
// does, and has the same price: a file that changes is served as it was
// until its entry is looked at again, at most TTL after it was last checked.
// That is why it is off unless asked for (-file-cache): a test fixture that
// rewrites a file and fetches it at once must see the new bytes.
//
// A Cache belongs to one serving loop and is not safe for concurrent use:
// each epoll loop has its own, so no lock sits on the request path.
type Cache struct {
	ttl     time.Duration
	used    int64 // bytes of file content held
	entries map[string]*Entry
}

// The cache's bounds: files up to MaxCachedFile bytes, up to MaxCacheBytes
// in all per loop. When it is full, new files are served from disk.
const (
	MaxCachedFile = 64 << 10
	MaxCacheBytes = 16 << 20
)

// Entry is a cached file: its bytes, and the validators its responses
// carry (the same as for the file on disk).
type Entry struct {
	Body        []byte
	ContentType string
	Ino         uint64
	Size        int64
	ModTime     time.Time
	checked     time.Time // when Lookup last confirmed it
}

// NewCache returns a cache whose entries are checked again once they are
// ttl old.
func NewCache(ttl time.Duration) *Cache {
	return &Cache{ttl: ttl, entries: make(map[string]*Entry)}
}

// Get returns the entry for a raw request path if it was checked less than
// ttl ago, or nil: then the caller looks the path up (Dir.Lookup) and
// offers the result to Put. The lookup by string(path) does not allocate.
func (c *Cache) Get(path []byte, now time.Time) *Entry {
	e := c.entries[string(path)]
	if e == nil || now.Sub(e.checked) >= c.ttl {
		return nil
	}
	return e
}

// Put takes what Lookup found for path. A small regular file is read into
// memory (or, when its inode, size and modification time are those of the
// entry already held, confirmed without reading) and returned as an entry;
// the caller closes f and answers from the entry. Otherwise Put returns nil
// and the caller serves f from disk: too large, the cache full, or the read
// failing.
func (c *Cache) Put(path []byte, f *sock.File, contentType string, now time.Time) *Entry {
	old := c.entries[string(path)]
	if old != nil && old.Ino == f.Ino && old.Size == f.Size && old.ModTime.Equal(f.ModTime) {
		old.checked = now
		return old
	}
	if old != nil { // changed: forget it
		c.used -= old.Size
		delete(c.entries, string(path))
	}
	if f.IsDir || f.Size > MaxCachedFile || c.used+f.Size > MaxCacheBytes {
		return nil
	}
	body := make([]byte, f.Size)
	if err := f.ReadFull(body); err != nil {
		return nil
	}
	e := &Entry{Body: body, ContentType: contentType, Ino: f.Ino, Size: f.Size, ModTime: f.ModTime, checked: now}
	c.entries[string(path)] = e
	c.used += f.Size
	return e
}
