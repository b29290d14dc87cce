package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/httpx"
)

// waits records the waits instead of sleeping.
type waits []time.Duration

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	*w = append(*w, d)
	return ctx.Err()
}

var errBusy = errors.New("busy")

// Each case: what the tries answer in turn (the last repeats), and the
// waits and tries Do makes of them.
func TestRetryDo(t *testing.T) {
	ok := httpx.Attempt{}
	busy := func(wait time.Duration) httpx.Attempt { return httpx.Attempt{Err: errBusy, Again: true, Wait: wait} }
	final := httpx.Attempt{Err: errors.New("refused")}
	held := httpx.Attempt{Err: errBusy, Again: true, Wait: 20 * time.Millisecond, Held: true}
	policy := httpx.Retry{Attempts: 4, Backoff: 100 * time.Millisecond, MaxWait: 30 * time.Second}
	for _, tc := range []struct {
		name    string
		p       httpx.Retry
		answers []httpx.Attempt
		waits   []time.Duration
		tries   int
		err     error
	}{
		{"first try", policy, []httpx.Attempt{ok}, nil, 1, nil},
		{"backoff doubles", policy, []httpx.Attempt{busy(0), busy(0), ok}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, 3, nil},
		{"the named wait is kept", policy, []httpx.Attempt{busy(3 * time.Second), busy(0), ok}, []time.Duration{3 * time.Second, 200 * time.Millisecond}, 3, nil},
		{"a final refusal", policy, []httpx.Attempt{final}, nil, 1, final.Err},
		{"tries run out", policy, []httpx.Attempt{busy(0)}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, 4, errBusy},
		{"one try only", httpx.Retry{}, []httpx.Attempt{busy(0)}, nil, 1, errBusy},
		{"a named wait too long", policy, []httpx.Attempt{busy(time.Minute)}, nil, 1, errBusy},
		{"a computed wait is cut", httpx.Retry{Attempts: 6, Backoff: time.Second, MaxWait: 5 * time.Second}, []httpx.Attempt{busy(0)},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, 6, errBusy},
		{"a held wait is not slept", policy, []httpx.Attempt{held, held, ok}, nil, 3, nil},
		{"a held wait too long", policy, []httpx.Attempt{{Err: errBusy, Again: true, Wait: time.Hour, Held: true}}, nil, 1, errBusy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w waits
			p := tc.p
			p.Sleep = w.sleep
			tries := 0
			err := p.Do(t.Context(), func(_ context.Context, n int) httpx.Attempt {
				if n != tries {
					t.Fatalf("try %d numbered %d", tries, n)
				}
				tries++
				return tc.answers[min(n, len(tc.answers)-1)]
			})
			if err != tc.err || tries != tc.tries || !slices.Equal(w, tc.waits) {
				t.Fatalf("err %v after %d tries, waits %v; want %v, %d, %v", err, tries, w, tc.err, tc.tries, tc.waits)
			}
		})
	}
}

// Jitter lengthens a computed wait by up to its share, differently each
// time; a named wait keeps its length.
func TestRetryJitter(t *testing.T) {
	p := httpx.Retry{Attempts: 2, Backoff: time.Second, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 200 {
		var w waits
		p.Sleep = w.sleep
		_ = p.Do(t.Context(), func(context.Context, int) httpx.Attempt { return httpx.Attempt{Err: errBusy, Again: true} })
		if len(w) != 1 || w[0] < time.Second || w[0] > 1500*time.Millisecond {
			t.Fatalf("waits %v", w)
		}
		seen[w[0]] = true
		w = nil
		_ = p.Do(t.Context(), func(context.Context, int) httpx.Attempt {
			return httpx.Attempt{Err: errBusy, Again: true, Wait: 2 * time.Second}
		})
		if len(w) != 1 || w[0] != 2*time.Second {
			t.Fatalf("a named wait became %v", w)
		}
	}
	if len(seen) < 100 {
		t.Fatalf("only %d different waits in 200", len(seen))
	}
}

// The context ends the waiting: Do returns at once with the context's
// error and the last try's.
func TestRetryContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := httpx.Retry{Attempts: 5, Backoff: time.Hour}
	done := make(chan error, 1)
	go func() {
		done <- p.Do(ctx, func(context.Context, int) httpx.Attempt { return httpx.Attempt{Err: errBusy, Again: true} })
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errBusy) {
			t.Fatalf("%v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Do kept waiting after the context ended")
	}
	// Ended before a held wait: no further try.
	tries := 0
	err := p.Do(ctx, func(context.Context, int) httpx.Attempt {
		tries++
		return httpx.Attempt{Err: errBusy, Again: true, Wait: time.Millisecond, Held: true}
	})
	if tries != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("%d tries, %v", tries, err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Sat, 05 Dec 2026 12:00:30 GMT", 30 * time.Second},
		{"99999999999999", 366 * 24 * time.Hour},
	} {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		if got := httpx.RetryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.v, got, tc.want)
		}
	}
}

func ExampleRetry() {
	tries := 0
	p := httpx.Retry{Attempts: 3, Backoff: time.Millisecond}
	err := p.Do(context.Background(), func(context.Context, int) httpx.Attempt {
		tries++
		if tries < 3 {
			return httpx.Attempt{Err: errBusy, Again: true}
		}
		return httpx.Attempt{}
	})
	fmt.Println(tries, err)
	// Output: 3 <nil>
}
