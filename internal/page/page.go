// Package page renders rawserve's embedded default page: the one served
// when no -dir is given. It tells the visitor what the server just asked
// of the kernel to answer them — the accept4 calls, the waits, the reads —
// with the numbers of their own connection.
package page

import (
	_ "embed"
	"strconv"
	"strings"
)

//go:embed index.html
var tmpl string

// Info is what the server knows about the request it is answering.
type Info struct {
	Peer, Listener string // "127.0.0.1:41234", "127.0.0.1:8080"
	ListenerPort   int
	FD, ListenFD   int
	Wait           string // the wait strategy: poll or spin
	Model          string // serial, epoll or uring

	AcceptCalls, AcceptEAGAINs, AcceptWaits int // how the connection was accepted

	Request   int    // 1 for the first request on this connection
	Reads     int    // read(2) calls that brought this request in
	ReadWaits int    // waits between them
	Head      []byte // the request head, as the client sent it
	Story     *Story // the system calls made for this connection so far; nil: none kept
}

// parts is the template cut at its {{name}} markers: even entries are
// literal HTML, odd entries are names. Cut once, at start-up.
var parts = strings.Split(tmpl, "{{")

// Append appends the rendered page to dst. Everything that came from the
// client (the request head) is HTML-escaped.
func Append(dst []byte, in *Info) []byte {
	dst = append(dst, parts[0]...)
	for _, p := range parts[1:] {
		name, rest, _ := strings.Cut(p, "}}")
		dst = in.appendField(dst, name)
		dst = append(dst, rest...)
	}
	return dst
}

func (in *Info) appendField(dst []byte, name string) []byte {
	switch name {
	case "peer":
		return AppendEscaped(dst, in.Peer)
	case "listener":
		return AppendEscaped(dst, in.Listener)
	case "port":
		return strconv.AppendInt(dst, int64(in.ListenerPort), 10)
	case "fd":
		return strconv.AppendInt(dst, int64(in.FD), 10)
	case "listenfd":
		return strconv.AppendInt(dst, int64(in.ListenFD), 10)
	case "wait":
		return AppendEscaped(dst, in.Wait)
	case "model":
		switch in.Model {
		case "epoll":
			return append(dst, epollNote...)
		case "uring":
			return append(dst, uringNote...)
		}
		return dst
	case "accept.calls":
		return strconv.AppendInt(dst, int64(in.AcceptCalls), 10)
	case "accept.eagains":
		return strconv.AppendInt(dst, int64(in.AcceptEAGAINs), 10)
	case "accept.waits":
		return strconv.AppendInt(dst, int64(in.AcceptWaits), 10)
	case "request":
		return strconv.AppendInt(dst, int64(in.Request), 10)
	case "reads":
		return strconv.AppendInt(dst, int64(in.Reads), 10)
	case "read.waits":
		return strconv.AppendInt(dst, int64(in.ReadWaits), 10)
	case "head.len":
		return strconv.AppendInt(dst, int64(len(in.Head)), 10)
	case "head":
		return AppendEscaped(dst, string(in.Head))
	case "story":
		if in.Story == nil {
			return append(dst, "<p>(No narration was kept for this connection.)</p>\n"...)
		}
		return in.Story.appendHTML(dst, in.FD)
	}
	return append(dst, "{{?"+name+"}}"...)
}

// epollNote replaces nothing: it is added to the page when the epoll model
// served it, because the steps below it tell the serial model's story.
const epollNote = `<p><b>This server is running the epoll model</b> (<code>-model epoll</code>): each of its loops
serves many connections at once, on a thread of its own. It learns that the listener has a connection queued, or that
your socket has bytes to read or room to write, from one <code>epoll_pwait</code> that watches every connection of the
loop; it never sleeps on one of them. The calls below are picked from a journal of every connection's calls: yours, and
the waits that reported your connection. The steps after them are the serial model's; the <code>accept4</code>,
<code>read</code> and <code>write</code> are the same, the waiting is not. See <a href="/docs/models.md#the-epoll-model">docs/models.md, “The epoll model”</a>.</p>
`

// uringNote is the uring model's, as epollNote is the epoll model's.
const uringNote = `<p><b>This server is running the uring model</b> (<code>-model uring</code>): each of its loops
serves many connections at once, on a thread of its own, and makes almost no system calls. It writes each step — accept,
receive, send, close — as a request into a ring it shares with the kernel, and one <code>io_uring_enter</code> hands the
kernel a batch of them and waits for completions, which come back in a second ring. strace sees only the
<code>io_uring_enter</code>; the narration below shows the requests (→ sqe) and completions (← cqe) too, picked from a
journal of every connection's: yours, and the calls that carried them. The steps after them are the serial model's:
there, each is a system call of its own. See <a href="/docs/models.md#the-uring-model">docs/models.md, “The uring model”</a>.</p>
`

// AppendEscaped appends s with the five HTML-special characters escaped,
// and CR and LF made visible, as strace would print them.
func AppendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '"':
			dst = append(dst, "&#34;"...)
		case '\'':
			dst = append(dst, "&#39;"...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\n':
			dst = append(dst, "\\n\n"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
