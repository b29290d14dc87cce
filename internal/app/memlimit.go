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
// at 100,000 products the site's VmHWM was 187 MiB with GOMEMLIMIT=80MiB,
// 196–205 MiB when the limit followed three times the live heap of
// ~30–35 MB (obmen bench --site-products, 2026-12-06). With this rule
// and 8 MB reader caches (db.go): 197 MiB VmHWM, 154 MiB anonymous — five
// runs at load 21–31 on 2 CPUs ranged 179–205 MiB, so 200 MB is met only
// narrowly; the rest is SQLite's page caches (through modernc's libc,
// ~75 MiB, outside the Go runtime and this limit) and the binary's pages
// (~44 MiB).
const goMemoryFloor = 80 << 20

// memoryLimitFor is the soft memory limit for a live heap of live bytes
// at the given GOGC: the floor while the live heap is at most half of it
// (the heap may still double between collections), past that the heap
// goal GOGC sets, so a server with hundreds of MiB of live data collects
// as often as before — a limit near the live heap would make the
// collector run back to back.
func memoryLimitFor(live uint64, gcPercent int, floor int64) int64 {
	if int64(live) <= floor/2 {
		return floor
	}
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
