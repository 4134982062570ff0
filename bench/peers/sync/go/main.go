// mutex_contended, Go peer of weft's bench/micro_mutex.c: 64 goroutines each do K
// iterations of Lock / increment / Unlock on one sync.Mutex, GOMAXPROCS = WORKERS.
// Prints: bench=mutex_contended workers=W value=OPS unit=ops/s
//
// Usage: sync-bench [WORKERS]   (default 1)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

const tasks = 64
const k = 100000

func main() {
	w := 1
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "usage: sync-bench [WORKERS]")
			os.Exit(2)
		}
		w = n
	}
	runtime.GOMAXPROCS(w)
	var mu sync.Mutex
	var counter uint64
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(tasks)
	for i := 0; i < tasks; i++ {
		go func() {
			for j := 0; j < k; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	if counter != tasks*k {
		fmt.Fprintf(os.Stderr, "bad counter %d\n", counter)
		os.Exit(1)
	}
	fmt.Printf("bench=mutex_contended workers=%d value=%.3f unit=ops/s\n", w,
		float64(tasks*k)/el.Seconds())
}
