// The Go peer of bench/run_trace_overhead.sh: skynet (1,000,000 leaves, ten children per
// node, each node sums its children's numbers through a channel) with Go's execution
// tracer on or off, so weft's tracing cost can be set beside Go's on the same program.
//
//	trace-bench WORKERS [TRACE_FILE]
//
// WORKERS is GOMAXPROCS; with TRACE_FILE, runtime/trace records the run into it (started
// before the clock starts, stopped and flushed after it stops, as WEFT_TRACE records
// weft's run). Prints: bench=skynet workers=W value=MS unit=ms
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"time"
)

const leaves = 1_000_000

func node(out chan<- int64, first, count int64) {
	if count == 1 {
		out <- first
		return
	}
	in := make(chan int64, 10)
	step := count / 10
	for i := int64(0); i < 10; i++ {
		go node(in, first+i*step, step)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-in
	}
	out <- sum
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: trace-bench WORKERS [TRACE_FILE]")
		os.Exit(2)
	}
	w, err := strconv.Atoi(os.Args[1])
	if err != nil || w < 1 {
		fmt.Fprintln(os.Stderr, "trace-bench: WORKERS must be a positive number")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(w)
	if len(os.Args) > 2 {
		f, err := os.Create(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "trace-bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, "trace-bench:", err)
			os.Exit(1)
		}
		defer trace.Stop()
	}
	res := make(chan int64, 1)
	t0 := time.Now()
	go node(res, 0, leaves)
	sum := <-res
	ms := float64(time.Since(t0).Nanoseconds()) / 1e6
	if sum != leaves*(leaves-1)/2 {
		fmt.Fprintln(os.Stderr, "trace-bench: wrong sum", sum)
		os.Exit(1)
	}
	fmt.Printf("bench=skynet workers=%d value=%.3f unit=ms\n", w, ms)
}
