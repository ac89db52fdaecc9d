package strace

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Call is one system call as strace printed it.
type Call struct {
	TID    int    // the thread that made it; 0 when strace printed no id
	Name   string // accept4
	Args   string // what strace printed between the parentheses
	Result string // what follows " = ": 7, -1 EAGAIN (Resource temporarily unavailable), ? ERESTARTSYS (…)

	// The lines of strace's output where the call began and where it
	// returned: the same line unless another thread's line cut it in two.
	start, end int
}

// String is the call as strace prints it, without the thread id and the
// padding strace puts before " = " to align short lines.
func (c Call) String() string { return c.Name + "(" + c.Args + ") = " + c.Result }

// Line is String with the thread id in front, as in strace -f's file.
func (c Call) Line() string { return strconv.Itoa(c.TID) + " " + c.String() }

// FD is the descriptor the call is about: its first argument when that is
// a number, for ppoll and poll the first fd of the set, else -1.
func (c Call) FD() int {
	first := c.Args
	if c.Name == "ppoll" || c.Name == "poll" {
		first = strings.TrimPrefix(first, "[{fd=")
	}
	if i := strings.IndexAny(first, ",)}"); i >= 0 {
		first = first[:i]
	}
	if n, err := strconv.Atoi(first); err == nil {
		return n
	}
	return -1
}

// Ret is the call's return value when it is a number of zero or more (a
// descriptor, a count), else -1: an error, or strace's "?" for a call that
// never returned.
func (c Call) Ret() int {
	v, _, _ := strings.Cut(c.Result, " ")
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n
	}
	return -1
}

// Errno is the error the call returned (EAGAIN), or the kernel's restart
// code strace shows for a call a signal interrupted (ERESTARTSYS); "" when
// it succeeded.
func (c Call) Errno() string {
	f := strings.Fields(c.Result)
	if len(f) >= 2 && (f[0] == "-1" || f[0] == "?") && strings.HasPrefix(f[1], "E") {
		return f[1]
	}
	return ""
}

var (
	// strace -f -o FILE begins each line with the thread's id; on a
	// terminal, and in rawserve's narration with several loops, it is
	// "[pid  4101] ".
	threadID = regexp.MustCompile(`^(?:\[pid\s+(\d+)\]|(\d+))\s+`)
	callLine = regexp.MustCompile(`^(\w+)\((.*)\)\s+= (.*)$`)
	resumed  = regexp.MustCompile(`^<\.\.\. \w+ resumed>(.*)$`)
)

// Parse reads strace's lines and returns the calls in them, in order of
// completion. When another thread's line comes between a call's start and
// its end, strace prints it in two parts, "accept4(6,  <unfinished ...>"
// and later "<... accept4 resumed>{sa_family=…}, …) = 7"; Parse joins the
// two, thread by thread. Signals ("--- SIGURG … ---"), exits, and calls
// that never returned ("<... nanosleep resumed> <unfinished ...>) = ?", a
// thread's call when the process exits) are left out.
func Parse(r io.Reader) ([]Call, error) {
	type begun struct {
		text string
		line int
	}
	pending := map[string]begun{} // thread id → the start of its unfinished call
	var calls []Call
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		tid, text := "", sc.Text()
		if m := threadID.FindStringSubmatch(text); m != nil {
			tid, text = m[1]+m[2], text[len(m[0]):]
		}
		if start, ok := strings.CutSuffix(text, " <unfinished ...>"); ok {
			pending[tid] = begun{start, line}
			continue
		}
		startLine := line
		if m := resumed.FindStringSubmatch(text); m != nil {
			b, ok := pending[tid]
			if !ok {
				continue // its start came before strace attached
			}
			delete(pending, tid)
			if strings.HasPrefix(m[1], " <unfinished ...>") {
				continue // cut short by the process's exit: it never returned
			}
			text, startLine = b.text+m[1], b.line
		}
		m := callLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(tid)
		calls = append(calls, Call{TID: n, Name: m[1], Args: m[2], Result: m[3], start: startLine, end: line})
	}
	return calls, sc.Err()
}

// Read parses the file strace -o wrote.
func Read(path string) ([]Call, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Own keeps the calls a program made on descriptors of its own making, so
// that the Go runtime's calls (futex, its start-up reads, …) and writes to
// stdout and stderr fall away. A call is kept when it makes a descriptor
// from nothing (socket, eventfd2, epoll_create1, io_uring_setup, an openat
// from AT_FDCWD) or is made on one the program made (for ppoll, the first
// of its set); what such a call returns (accept4's connection, openat2's
// file) is the program's too, until its close. A mapping of one of its
// descriptors (mmap of an io_uring's rings: the descriptor is the fifth
// argument) is the program's, and so is the munmap of what it mapped. A
// ppoll over no descriptor at all — rawserve's pause for a fault's delay —
// is kept too: the Go runtime sleeps in futex and nanosleep, never in
// ppoll.
func Own(calls []Call) []Call { return OwnWith(calls) }

// OwnWith is Own for a program that was also given descriptors strace
// cannot see being made: the connections an io_uring's accept returned
// come back in the ring's memory, not from a system call. Those numbers
// are the program's throughout: from the start, and after a close (the
// ring may return the number again, and strace would not see it).
//
// Whose a descriptor is follows the kernel, not the order of strace's
// lines: a number becomes the program's when the call that made it
// returns, and stops being when a close of it begins — the kernel frees it
// then, and may give it to another thread's accept4 before strace prints
// the end of the close. So the calls are judged in the order they began,
// and kept in the order they returned.
func OwnWith(calls []Call, given ...int) []Call {
	mine, always := map[int]bool{}, map[int]bool{}
	for _, fd := range given {
		mine[fd], always[fd] = true, true
	}
	type made struct{ at, fd int } // a descriptor, the program's once line at has passed
	var coming []made
	mapped := map[string]bool{}
	byStart := make([]int, len(calls))
	for i := range byStart {
		byStart[i] = i
	}
	slices.SortStableFunc(byStart, func(a, b int) int { return cmp.Compare(calls[a].start, calls[b].start) })
	keep := make([]bool, len(calls))
	for _, i := range byStart {
		c := calls[i]
		coming = slices.DeleteFunc(coming, func(m made) bool {
			if m.at < c.start {
				mine[m.fd] = true
				return true
			}
			return false
		})
		first, _, _ := strings.Cut(c.Args, ",")
		switch {
		case c.Name == "socket", c.Name == "eventfd2", c.Name == "epoll_create1", c.Name == "io_uring_setup", first == "AT_FDCWD",
			c.Name == "ppoll" && first == "NULL":
		case c.Name == "mmap":
			args := strings.Split(c.Args, ", ")
			if len(args) != 6 || c.Errno() != "" {
				continue
			}
			if fd, err := strconv.Atoi(args[4]); err != nil || !mine[fd] {
				continue
			}
			mapped[c.Result] = true
		case c.Name == "munmap":
			if !mapped[first] {
				continue
			}
			delete(mapped, first)
		case !mine[c.FD()]:
			continue
		}
		keep[i] = true
		switch c.Name {
		case "socket", "eventfd2", "epoll_create1", "io_uring_setup", "openat", "openat2", "accept4", "accept":
			if fd := c.Ret(); fd >= 0 {
				coming = append(coming, made{c.end, fd})
			}
		case "close":
			if !always[c.FD()] {
				delete(mine, c.FD())
			}
		}
	}
	var kept []Call
	for i, c := range calls {
		if keep[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

// Count is how often a call was made, and how often it failed.
type Count struct{ Calls, Errors int }

// Tally counts calls by name; a call with an Errno is an error, as in
// strace -c.
func Tally(calls []Call) map[string]Count {
	counts := map[string]Count{}
	for _, c := range calls {
		n := counts[c.Name]
		n.Calls++
		if c.Errno() != "" {
			n.Errors++
		}
		counts[c.Name] = n
	}
	return counts
}

// ReadCounts parses the table strace -c -o FILE writes, by call name
// ("total" left out). Its columns: % time, seconds, usecs/call, calls,
// errors (blank when there were none), syscall.
func ReadCounts(path string) (map[string]Count, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	counts := map[string]Count{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || len(f) > 6 || f[len(f)-1] == "total" {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue // the heading, the rules
		}
		var n Count
		n.Calls, err = strconv.Atoi(f[3])
		if err == nil && len(f) == 6 {
			n.Errors, err = strconv.Atoi(f[4])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", path, line, err)
		}
		counts[f[len(f)-1]] = n
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("%s: no strace -c table", path)
	}
	return counts, nil
}
