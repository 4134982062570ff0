// select4, Go's side of weft's bench/micro_select.c: 4 producer goroutines each send
// 1,000,000 uint64 values on its own channel (capacity 64) and close it; the main
// goroutine selects over the 4 receives until all are closed and drained, setting a
// closed channel to nil (its case is then never ready). Timed from starting the
// producers to the last select; the sum is checked. One op = one select that received.
//
//	select-bench [WORKERS]   (GOMAXPROCS; default 1)
//
// Prints: bench=select4 workers=W value=V unit=ops/s
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

const (
	per = 1000000
	k   = 4
	n   = k * per
	cap = 64
)

func main() {
	workers := 1
	if len(os.Args) > 1 {
		w, err := strconv.Atoi(os.Args[1])
		if err != nil || w < 1 {
			fmt.Fprintf(os.Stderr, "select-bench: bad WORKERS %q\n", os.Args[1])
			os.Exit(2)
		}
		workers = w
	}
	runtime.GOMAXPROCS(workers)
	var chs [k]chan uint64
	for i := range chs {
		chs[i] = make(chan uint64, cap)
	}
	start := time.Now()
	for i := 0; i < k; i++ {
		go func(i int) {
			c := chs[i]
			for j := 0; j < per; j++ {
				c <- uint64(i*per + j)
			}
			close(c)
		}(i)
	}
	a, b, c, d := chs[0], chs[1], chs[2], chs[3]
	var sum, got uint64
	for a != nil || b != nil || c != nil || d != nil {
		select {
		case v, ok := <-a:
			if !ok {
				a = nil
				continue
			}
			sum += v
		case v, ok := <-b:
			if !ok {
				b = nil
				continue
			}
			sum += v
		case v, ok := <-c:
			if !ok {
				c = nil
				continue
			}
			sum += v
		case v, ok := <-d:
			if !ok {
				d = nil
				continue
			}
			sum += v
		}
		got++
	}
	secs := time.Since(start).Seconds()
	if got != n || sum != uint64(n)*(n-1)/2 {
		fmt.Fprintf(os.Stderr, "select-bench: got %d elements, sum %d\n", got, sum)
		os.Exit(1)
	}
	fmt.Printf("bench=select4 workers=%d value=%.0f unit=ops/s\n", workers, float64(n)/secs)
}
