// Echo server peer for weft's bench/run_echo.sh: one goroutine per connection copying
// what it reads back to the sender (an io.Copy-style loop with a 64 KiB buffer).
// GOMAXPROCS = CPUs (Go's default) unless -threads is given.
//
//	echo-server [-addr 127.0.0.1] [-port 7007] [-threads N]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 7007, "port (0: a free one)")
	threads := flag.Int("threads", 0, "GOMAXPROCS (0: number of CPUs)")
	flag.Parse()
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	} else {
		runtime.GOMAXPROCS(runtime.NumCPU())
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(*addr, fmt.Sprint(*port)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s (GOMAXPROCS %d)\n", ln.Addr(), runtime.GOMAXPROCS(0))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		os.Exit(0)
	}()

	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			time.Sleep(10 * time.Millisecond) // e.g. out of fds: back off
			continue
		}
		go serve(c) // net.TCPConn has TCP_NODELAY set by default
	}
}
