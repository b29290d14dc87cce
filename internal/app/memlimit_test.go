package app

import "testing"

func TestMemoryLimitFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int64
	}{
		{0, 80 * mib},          // an idle server: the floor
		{25 * mib, 80 * mib},   // the site importing a big catalog: the floor binds (GOGC 200 alone: 75 MiB heap goal plus retained spans)
		{35 * mib, 80 * mib},   // still the floor: the heap may double
		{40 * mib, 80 * mib},   // half the floor
		{41 * mib, 123 * mib},  // past half the floor, the GOGC goal
		{100 * mib, 300 * mib}, // a big heap: the GOGC goal, never a limit near the live heap
		{1 << 30, 3 << 30},
	} {
		if got := memoryLimitFor(c.live, 200, goMemoryFloor); got != c.want {
			t.Errorf("memoryLimitFor(%d MiB) = %d MiB, want %d MiB", c.live/mib, got/mib, c.want/mib)
		}
	}
}
