// Command freeport prints a TCP port of 127.0.0.1 that is free now: it
// binds port 0, prints the port the kernel chose and closes it. Another
// process could take it before the server does; the script's start-up
// check would then fail and say so.
package main

import (
	"fmt"
	"log"
	"net"
)

func main() {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
}
