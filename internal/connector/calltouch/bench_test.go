package calltouch_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/connector/calltouch"
)

// BenchmarkDealBacklog writes a backlog of 1,000 deals, eight at a time
// (as the engine's workers would), through one account's client with
// its default limit, against the fake that answers 429 past 5 requests
// a second. It reports the requests a second the fake saw, the most it
// saw within any one second, and its 429s (which the client then
// retries), and the most the client sent within one second by its own
// clock (arrivals at the fake jitter on a loaded machine). Run: go test -run '^$' -bench DealBacklog -benchtime 1x
func BenchmarkDealBacklog(b *testing.B) {
	for _, backlog := range []int{1000} {
		b.Run(fmt.Sprintf("items=%d", backlog), func(b *testing.B) {
			for range b.N {
				f := newFake(&testing.T{})
				b.Cleanup(f.srv.Close)
				sent := &sendLog{next: http.DefaultTransport}
				c := (calltouch.Deps{HTTP: &http.Client{Timeout: 30 * time.Second, Transport: sent}}).Client(
					calltouch.Account{SiteID: f.site, Token: f.token, URL: f.URL()})
				jobs := make(chan int)
				var wg sync.WaitGroup
				var failed sync.Map
				start := time.Now()
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range jobs {
							if _, err := c.CreateDealForTest(b.Context(), int64(i), fmt.Sprintf("B-%d", i), "PENDING", 0); err != nil {
								failed.Store(i, err)
							}
						}
					}()
				}
				for i := range backlog {
					jobs <- i
				}
				close(jobs)
				wg.Wait()
				elapsed := time.Since(start)
				failed.Range(func(k, v any) bool { b.Fatalf("deal %v: %v", k, v); return false })
				n, limited, maxSec := f.stats()
				b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
				b.ReportMetric(float64(maxSec), "max-arrived-in-1s")
				b.ReportMetric(float64(sent.maxInSecond()), "max-sent-in-1s")
				b.ReportMetric(float64(limited), "429s")
				b.ReportMetric(elapsed.Seconds(), "s-total")
			}
		})
	}
}

// sendLog records when the client sends each request.
type sendLog struct {
	mu    sync.Mutex
	times []time.Time
	next  http.RoundTripper
}

func (l *sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *sendLog) maxInSecond() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	best, lo := 0, 0
	for hi, t := range l.times {
		for t.Sub(l.times[lo]) >= time.Second {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
