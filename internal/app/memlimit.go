package app

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// goMemoryFloor is the soft limit on the Go runtime's memory (heap,
// stacks, its own bookkeeping) of a server whose live heap is small.
// Without it a server of 30 MB live data kept ~110 MiB of Go memory at
// GOGC 200 (the heap goal is three times the live heap, and freed spans
// went back to the OS slowly): the site receiving a 50,000-product
// catalog peaked at 188 MiB anonymous RSS, 132 MiB with a 80 MiB limit;
// at 100,000 products the site's VmHWM was 196 MiB with a 96 MiB floor,
// 187 MiB with 80 (obmen bench --site-products, 2026-12-06). SQLite's
// memory (page caches, through modernc's libc: ~75 MiB of the site's at
// 100,000) is outside the Go runtime and outside this limit.
const goMemoryFloor = 80 << 20

// memoryLimitFor is the soft memory limit for a live heap of live bytes
// at the given GOGC: the floor, or the heap goal GOGC sets when that is
// higher, so a server with hundreds of MiB of live data collects about as
// often as before — a fixed limit near its live heap would make the
// collector run back to back.
func memoryLimitFor(live uint64, gcPercent int, floor int64) int64 {
	return max(floor, int64(live)*int64(100+gcPercent)/100)
}

// tuneMemoryLimit keeps the Go runtime's soft memory limit at
// memoryLimitFor of the live heap, read every second, until ctx ends.
func tuneMemoryLimit(ctx context.Context, gcPercent int, floor int64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := func() {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			debug.SetMemoryLimit(memoryLimitFor(s[0].Value.Uint64(), gcPercent, floor))
		}
	}
	set()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			set()
		}
	}
}
