package events_test

import (
	"testing"
	"time"

	"github.com/obmen/obmen/internal/events"
)

func TestIdle(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var i events.Idle
	if _, skip := i.Look(t0); skip || i.Is() {
		t.Fatal("a new reader is idle")
	}
	// A look finds nobody: no look for a second, and nobody listens.
	gen, _ := i.Look(t0)
	i.Nobody(gen, t0, time.Second)
	if _, skip := i.Look(t0.Add(999 * time.Millisecond)); !skip || !i.Is() {
		t.Fatal("not idle within the second after a look found nobody")
	}
	// After the second it looks again; still nobody listens meanwhile.
	gen, skip := i.Look(t0.Add(time.Second))
	if skip || !i.Is() {
		t.Fatalf("after the second: skip %v, nobody %v", skip, i.Is())
	}
	// A listener is made while that look is under way: the look's
	// "nobody" (read before) does not count.
	i.Busy()
	i.Nobody(gen, t0.Add(time.Second), time.Second)
	if _, skip := i.Look(t0.Add(time.Second)); skip || i.Is() {
		t.Fatal("idle after a listener was made during the look")
	}
	// A look that finds somebody.
	gen, _ = i.Look(t0.Add(2 * time.Second))
	i.Nobody(gen, t0.Add(2*time.Second), time.Second)
	i.Somebody()
	if i.Is() {
		t.Fatal("nobody after a look found somebody")
	}
}
