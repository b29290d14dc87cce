package events

import (
	"sync"
	"sync/atomic"
	"time"
)

// Idle is a log reader's memory that its last look found nobody to serve
// (the delivery dispatcher: no webhook active; the bundles' dispatcher: no
// event bundle active). Every commit wakes the reader — hundreds of times
// a second on every instance of a busy server that has no listener at
// all (issue 21) — but after a look that found nobody it need not look
// again for a while. Busy, called when a listener is made or changed in
// this process, ends that at once, also against a look that was under
// way when it was called.
type Idle struct {
	mu     sync.Mutex
	gen    int64
	until  atomic.Int64 // unix ns: no look needed before
	nobody atomic.Bool
}

// Look begins a look at now: skip is true while an earlier look's
// finding of nobody holds; gen is what Nobody wants.
func (i *Idle) Look(now time.Time) (gen int64, skip bool) {
	if now.UnixNano() < i.until.Load() {
		return 0, true
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.gen, false
}

// Nobody records that the look begun at gen found nobody: no look is
// needed for d from now, unless Busy was called since the look began.
func (i *Idle) Nobody(gen int64, now time.Time, d time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.gen == gen {
		i.until.Store(now.Add(d).UnixNano())
		i.nobody.Store(true)
	}
}

// Somebody records that a look found a listener.
func (i *Idle) Somebody() { i.nobody.Store(false) }

// Busy ends the idleness: a listener was made or changed.
func (i *Idle) Busy() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.gen++
	i.until.Store(0)
	i.nobody.Store(false)
}

// Is reports whether the last look found nobody and no listener was
// made here since. The reader looks again at least every while (the d of
// Nobody and its poll), so a listener made elsewhere is seen that late.
func (i *Idle) Is() bool { return i.nobody.Load() }
