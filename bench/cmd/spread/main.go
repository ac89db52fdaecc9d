// Command spread measures how an accept load spreads over event loops under
// the listener designs docs/models.md weighs for rawserve -loops N:
//
//   - reuseport: one listener per loop on the same port, with SO_REUSEPORT —
//     the first turning it on only after its bind, as rawserve does, so that
//     no other process that binds without it can join;
//   - exclusive: one listener in every loop's epoll set with EPOLLEXCLUSIVE,
//     level- or edge-triggered;
//   - shared: one listener in every loop's set, no EPOLLEXCLUSIVE (every
//     loop woken for every connection: the thundering herd).
//
// Each loop is a locked OS thread in epoll_wait, accepting until EAGAIN and
// spending -work on each connection. -n clients connect one after another
// from 127.0.0.1; it prints, per design, how many each loop accepted and the
// wake-ups that found nothing to accept. Only 127.0.0.1 is contacted.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 2000, "connections")
	loops := flag.Int("loops", 2, "event loops")
	work := flag.Duration("work", 20*time.Microsecond, "time each accepted connection costs its loop")
	flag.Parse()
	fmt.Println("| design | connections per loop | wake-ups with nothing to accept |")
	fmt.Println("|---|---|--:|")
	for _, d := range []struct {
		name      string
		perLoop   bool
		excl, et  bool
		afterBind bool
	}{
		{"reuseport (the first listener's turned on after its bind)", true, false, true, true},
		{"one listener, EPOLLEXCLUSIVE, edge-triggered", false, true, true, false},
		{"one listener, EPOLLEXCLUSIVE, level-triggered", false, true, false, false},
		{"one listener, no EPOLLEXCLUSIVE, level-triggered", false, false, false, false},
	} {
		var fds []int
		first, err := listener(0, false)
		if err != nil {
			die(err)
		}
		fds = append(fds, first)
		if d.perLoop {
			if d.afterBind {
				if err := unix.SetsockoptInt(first, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
					die(err)
				}
			}
			for i := 1; i < *loops; i++ {
				fd, err := listener(port(first), true)
				if err != nil {
					die(err)
				}
				fds = append(fds, fd)
			}
		}
		counts, idle := run(fds, *loops, d.excl, d.et, *n, *work)
		fmt.Printf("| %s | %s | %d |\n", d.name, counts, idle)
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "spread:", err)
	os.Exit(1)
}

func listener(port int, reuse bool) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if reuse {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 4096); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func port(fd int) int {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		die(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// run starts the loops on fds (one each, or all on fds[0]), connects n
// clients, and returns the accepts per loop and the idle wake-ups.
func run(fds []int, loops int, excl, et bool, n int, work time.Duration) (string, int64) {
	counts := make([]atomic.Int64, loops)
	var idle atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range loops {
		fd := fds[0]
		if len(fds) > 1 {
			fd = fds[i]
		}
		wg.Go(func() { loop(fd, excl, et, work, &counts[i], &idle, &stop) })
	}
	time.Sleep(50 * time.Millisecond)
	addr := "127.0.0.1:" + strconv.Itoa(port(fds[0]))
	var held []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			die(err)
		}
		held = append(held, c)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		total := int64(0)
		for i := range counts {
			total += counts[i].Load()
		}
		if total >= int64(n) {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	for _, c := range held {
		c.Close()
	}
	var s []string
	for i := range counts {
		s = append(s, strconv.FormatInt(counts[i].Load(), 10))
	}
	return strings.Join(s, " / "), idle.Load()
}

func loop(fd int, excl, et bool, work time.Duration, count, idle *atomic.Int64, stop *atomic.Bool) {
	runtime.LockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		die(err)
	}
	defer unix.Close(ep)
	ev := uint32(unix.EPOLLIN)
	if excl {
		ev |= unix.EPOLLEXCLUSIVE
	}
	if et {
		ev |= unix.EPOLLET
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: ev, Fd: int32(fd)}); err != nil {
		die(err)
	}
	events := make([]unix.EpollEvent, 16)
	for !stop.Load() {
		n, _ := unix.EpollWait(ep, events, 20)
		if n <= 0 {
			continue
		}
		got := 0
		for {
			c, _, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			if err != nil {
				break
			}
			got++
			count.Add(1)
			unix.Close(c)
			for t0 := time.Now(); time.Since(t0) < work; {
			}
		}
		if got == 0 {
			idle.Add(1)
		}
	}
}
