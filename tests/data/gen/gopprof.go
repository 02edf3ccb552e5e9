// gopprof.go — writes the Go runtime pprof files used by tests/formats.
//
// Run from tests/data (offline, no modules needed):
//   GOFLAGS=-mod=mod GOCACHE=/tmp/gocache go run gen/gopprof.go
// It burns CPU in two known functions (hotLoop about 3/4 of the time,
// warmLoop the rest) and keeps allocations from allocKeep live, then writes
// go_cpu.pb.gz and go_heap.pb.gz.  The expected totals hard-coded in
// tests/formats/test_pprof.c come from `go tool pprof -top -raw` on the
// committed files.  pprof_merged.pb.gz is pprof's own output:
//   go tool pprof -proto -output pprof_merged.pb.gz go_cpu.pb.gz go_cpu.pb.gz
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

var sink uint64
var keep [][]byte

//go:noinline
func hotLoop(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink += x
}

//go:noinline
func warmLoop(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(7)
	for time.Now().Before(end) {
		for i := 0; i < 10000; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	sink += x
}

//go:noinline
func allocKeep(n, size int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, size))
	}
}

//go:noinline
func allocDrop(n, size int) {
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		sink += uint64(len(b))
	}
}

func main() {
	runtime.MemProfileRate = 4096
	cpu, err := os.Create("go_cpu.pb.gz")
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		panic(err)
	}
	for r := 0; r < 4; r++ {
		hotLoop(450 * time.Millisecond)
		warmLoop(150 * time.Millisecond)
	}
	pprof.StopCPUProfile()
	cpu.Close()

	allocKeep(2000, 8192)
	allocDrop(5000, 4096)
	runtime.GC()
	heap, err := os.Create("go_heap.pb.gz")
	if err != nil {
		panic(err)
	}
	if err := pprof.WriteHeapProfile(heap); err != nil {
		panic(err)
	}
	heap.Close()
}
