package static

// When the directory served is replaced.
//
// The root is held by its descriptor, opened once: that is what makes a
// path resolve below it whatever is renamed meanwhile. But a test fixture
// that runs `rm -rf site && mkdir site && cp … site/` between its cases
// leaves the descriptor holding the old directory, deleted — every request
// 404 (and / 403, or 500 with List: getdents64 says ENOENT) until a restart
// — and `mv site site.old && mkdir site` leaves it serving the old tree.
//
// So the root is compared with what its path names now: the FileID (device
// and inode) of the directory held against stat(2) of the path, one
// newfstatat. They differ: the root is reopened (sock.Root.Reopen: open,
// fstat, dup3 onto the same descriptor number, close), and the Log says so.
// The comparison is exact, because the directory held is open: its inode
// number cannot have been given to the new one.
//
// When it is made:
//
//   - whenever the first open of a request finds nothing (ENOENT, ENOTDIR:
//     what would be a 404): a deleted directory is what a replaced root
//     looks like, and the request is answered from the new root;
//   - on hits, at most once a second: by the first request after each
//     second, whichever loop serves it.
//
// A path that names nothing, or no directory, is gone: every request is
// 404 — as for any name that is not there; nginx answers the same — and
// makes the one stat that notices the directory is back.
//
// Several loops may notice at once. The check itself takes no lock: it
// reads the state (an atomic pointer), stats the path, and compares. Only
// a difference takes the mutex; the loop that gets it first reopens and
// stores the new state; the others, once they have it, find the state no
// longer the one they compared with, and use the root as it now is. Nothing
// is left to close later: dup3 released the old directory in the same step,
// and an open already under way in it keeps its own reference until it
// returns.

import (
	"fmt"
	"time"

	"github.com/rawserve/rawserve/internal/sock"
)

// checkEvery is how often a hit checks the root: a replaced directory is
// served from for at most this long after it is gone, by requests that
// find their files in it.
const checkEvery = time.Second

// rootState is what the root's descriptor holds, as last checked. A new
// one is stored for each change, never modified.
type rootState struct {
	id   sock.FileID
	gone bool // the path names no directory: every request is 404
}

// rootCheck is what checkRoot found.
type rootCheck int

const (
	rootSame     rootCheck = iota // the path still names the directory held
	rootReopened                  // it names another, which the root now holds
	rootGone                      // it names no directory
)

// checkDue reports whether this request must check the root: every request
// while it is gone, else the first after each checkEvery. Of several loops
// reaching the moment at once, the one whose compare-and-swap moves it on
// makes the check. time.Since reads the monotonic clock, which a change of
// the wall clock does not move.
func (d *Dir) checkDue() bool {
	if d.state.Load().gone {
		return true
	}
	now, next := int64(time.Since(d.start)), d.nextCheck.Load()
	return now >= next && d.nextCheck.CompareAndSwap(next, now+int64(checkEvery))
}

// checkRoot compares the root, as seen — the state loaded before the open
// that missed — with what its path names now, and reopens it if they
// differ (see the top of this file). It answers rootReopened too when
// another loop has reopened it since seen: the open is then to be made
// again in the new root. (A reopen makes its dup3 before it stores the new
// state, so an open made after loading a state is made in that directory
// or a newer one.)
func (d *Dir) checkRoot(seen *rootState) rootCheck {
	id, err := sock.Stat(d.path)
	switch {
	case err == nil && !seen.gone && id == seen.id:
		return rootSame
	case err != nil && seen.gone:
		return rootGone
	}
	d.reopening.Lock()
	defer d.reopening.Unlock()
	if now := d.state.Load(); now != seen { // another loop has been here
		if now.gone {
			return rootGone
		}
		return rootReopened
	}
	if err == nil {
		id, err = d.root.Reopen(d.path)
	}
	if err != nil {
		if !seen.gone {
			d.logf("rawserve: -dir %q is gone (%v): 404 for every request until it is back\n", d.path, err)
		}
		d.state.Store(&rootState{gone: true})
		return rootGone
	}
	if seen.gone {
		d.logf("rawserve: -dir %q is back: serving it again\n", d.path)
	} else {
		d.logf("rawserve: -dir %q was replaced: serving the new directory\n", d.path)
	}
	d.state.Store(&rootState{id: id})
	return rootReopened
}

func (d *Dir) logf(format string, a ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, format, a...)
	}
}

// IsFileSystemRoot reports whether the directory served is / itself,
// compared by FileID: "/tmp/..", "//" and a symlink to / are / too. Serving
// it serves /etc and /proc, and when running as root, every file there.
func (d *Dir) IsFileSystemRoot() bool {
	slash, err := sock.Stat("/")
	return err == nil && slash == d.state.Load().id
}
