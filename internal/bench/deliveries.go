package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DeliveriesReport is what the deliveries phase measured: lead creates at
// a fixed rate, each sent by an outbound webhook (native, "lead.create")
// to a receiver in the bench process on loopback, and the time from the
// API's answer — the change is committed by then — to the receiver
// getting it.
type DeliveriesReport struct {
	Rate int `json:"rate_per_second"`
	// Made is how many leads the measured part created (after the warm-up,
	// which is made and delivered the same way but not timed), Delivered
	// how many of them reached the receiver, Duplicates how many
	// deliveries reached it a second time (any lead, warm-up included),
	// Unknown how many named a lead the bench did not make.
	Made       int     `json:"made"`
	MadePerS   float64 `json:"made_per_second"`
	Delivered  int     `json:"delivered"`
	Duplicates int     `json:"duplicates"`
	Unknown    int     `json:"unknown"`
	Warmup     int     `json:"warmup_made"`
	Lost       int     `json:"lost"` // made (warm-up included) and never received
	// Connections is how many TCP connections the server opened to the
	// receiver: a few when it keeps them alive, one per delivery when not.
	Connections int     `json:"receiver_connections"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	// From the event's own time (the server's clock, when the write's
	// transaction logged it; the same machine's clock as the receiver's):
	// the commit and the answer's way back are inside, so it is an upper
	// bound of commit → delivered where the figures above are a lower one.
	EventP50 float64 `json:"from_event_p50_ms"`
	EventP99 float64 `json:"from_event_p99_ms"`
	EventMax float64 `json:"from_event_max_ms"`
}

func (d *DeliveriesReport) print(w io.Writer) {
	fmt.Fprintf(w, "deliveries: change → webhook received at %d changes/s: %d made (%.0f/s), %d delivered, %d duplicates, %d lost, %d unknown (after %d warm-up changes)\n",
		d.Rate, d.Made, d.MadePerS, d.Delivered, d.Duplicates, d.Lost, d.Unknown, d.Warmup)
	fmt.Fprintf(w, "deliveries: the server opened %d connections to the receiver\n", d.Connections)
	fmt.Fprintf(w, "deliveries: from the API's answer: p50 %.1f ms, p99 %.1f ms, max %.1f ms; from the event's time: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		d.P50, d.P99, d.Max, d.EventP50, d.EventP99, d.EventMax)
}

// receiver is the webhook's receiving end: it notes when each lead's
// delivery arrived, and counts repeats.
type receiver struct {
	mu       sync.Mutex
	first    map[int64]arrival // by lead id
	dups     int
	lastSeen atomic.Int64 // unix ns of the last arrival
	conns    atomic.Int64
}

type arrival struct {
	at, event time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var p struct {
		RecordID  int64     `json:"record_id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.RecordID == 0 {
		http.Error(w, "bench receiver: not a native delivery", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	if _, seen := rc.first[p.RecordID]; seen {
		rc.dups++
	} else {
		rc.first[p.RecordID] = arrival{at: now, event: p.CreatedAt}
	}
	rc.mu.Unlock()
	rc.lastSeen.Store(now.UnixNano())
	w.WriteHeader(http.StatusNoContent)
}

// deliveries runs the deliveries phase. The server must let its outbound
// client reach 127.0.0.1 (OBMEN_OUTBOUND_ALLOW=127.0.0.1; the servers the
// bench starts have it).
func deliveries(ctx context.Context, client *http.Client, o Options, rep *Report) error {
	d := &DeliveriesReport{Rate: o.DeliveryRate}
	rep.Deliveries = d
	api := &apiCaller{client: client, base: o.URL, key: o.Key}

	rc := &receiver{first: map[int64]arrival{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: receiver: %w", err)
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			rc.conns.Add(1)
		}
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	defer srv.Close()

	var hook struct {
		ID int64 `json:"id"`
	}
	body := fmt.Sprintf(`{"kind": "native", "name": "bench: deliveries", "url": "http://%s/hook", "events": ["lead.create"], "token": "bench-signing-secret"}`, ln.Addr())
	if err := api.call(ctx, "POST", "/api/v1/outbound-webhooks", body, http.StatusCreated, &hook); err != nil {
		return err
	}
	defer func() {
		// The webhook goes with the phase: a later phase's creates must
		// not pay for deliveries to a receiver that is gone.
		// Switched off, not removed: its journal stays to be looked at.
		_ = api.call(context.WithoutCancel(ctx), "PATCH", fmt.Sprintf("/api/v1/outbound-webhooks/%d", hook.ID), `{"active": false}`, http.StatusOK, nil)
	}()

	// The warm-up: right after a server starts its pools are still being
	// filled and River's producers are starting (see
	// internal/delivery.BenchmarkEventToDelivery); not timed.
	warm := min(2*time.Second, o.Duration/2)
	warmLeads, err := pacedAt(ctx, api, o.DeliveryRate, warm/2, 905)
	if err != nil {
		return err
	}
	// ANALYZE halfway, not at the end: it makes every connection plan its
	// statements again, and right before the timed part that replanning
	// was the slowest 100–400 ms of a run (with the analysis last, 36–49
	// of a run's deliveries over 25 ms came in its first 400 ms; with it
	// halfway, 8–18 — three interleaved pairs on PostgreSQL).
	if err := analyze(ctx, o); err != nil { // as warmUp does
		return err
	}
	more, err := pacedAt(ctx, api, o.DeliveryRate, warm/2, 907)
	if err != nil {
		return err
	}
	warmLeads = append(warmLeads, more...)
	start := time.Now()
	leads, err := pacedAt(ctx, api, o.DeliveryRate, o.Duration, 906)
	if err != nil {
		return err
	}
	d.Made, d.Warmup = len(leads), len(warmLeads)
	d.MadePerS = float64(len(leads)) / time.Since(start).Seconds()

	// Wait for every delivery, while they keep coming (10 s without one
	// ends the wait: what is missing then is lost), then a little longer
	// for a repeat.
	want := int64(len(leads) + len(warmLeads))
	for {
		rc.mu.Lock()
		got := int64(len(rc.first))
		rc.mu.Unlock()
		if got >= want {
			break
		}
		last := time.Unix(0, rc.lastSeen.Load())
		if rc.lastSeen.Load() == 0 {
			last = start
		}
		if time.Since(last) > 10*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(500 * time.Millisecond):
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	d.Duplicates = rc.dups
	d.Connections = int(rc.conns.Load())
	made := map[int64]bool{}
	for _, l := range warmLeads {
		made[l.id] = true
	}
	var lat, evLat []float64
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, l := range leads {
		made[l.id] = true
		a, ok := rc.first[l.id]
		if !ok {
			continue
		}
		d.Delivered++
		// A delivery can arrive before the bench has read the answer:
		// that counts as no wait, not as a negative one.
		lat = append(lat, max(0, ms(a.at.Sub(l.answered))))
		if !a.event.IsZero() {
			evLat = append(evLat, ms(a.at.Sub(a.event)))
		}
	}
	for id := range made {
		if _, ok := rc.first[id]; !ok {
			d.Lost++
		}
	}
	for id := range rc.first {
		if !made[id] {
			d.Unknown++
		}
	}
	d.P50, d.P99, d.Max = percentiles(lat)
	d.EventP50, d.EventP99, d.EventMax = percentiles(evLat)
	if d.Made == 0 {
		return errors.New("bench: deliveries: no lead was created")
	}
	return nil
}

// percentiles returns the p50, p99 and maximum of v (sorted in place).
func percentiles(v []float64) (p50, p99, top float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	slices.Sort(v)
	return v[(len(v)-1)*50/100], v[(len(v)-1)*99/100], v[len(v)-1]
}

// pacedLead is a lead a paced run created, and when its answer came.
type pacedLead struct {
	id       int64
	answered time.Time
}

// pacedAt creates leads at rate per second for d, with phones
// "+7 <prefix> …" (a prefix per phase, so that no phase's leads
// are another's duplicates), and returns them with the time of each
// answer.
func pacedAt(ctx context.Context, c *apiCaller, rate int, d time.Duration, prefix int) ([]pacedLead, error) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	work := make(chan int64, rate)
	var mu sync.Mutex
	var out []pacedLead
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				var l struct {
					ID int64 `json:"id"`
				}
				body := fmt.Sprintf(`{"title": "Звонок %d", "name": "Клиент", "phones": [{"value": "+7 %03d %07d"}]}`, n, prefix, n%10_000_000)
				if err := c.call(ctx, "POST", "/api/v1/leads", body, http.StatusCreated, &l); err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				at := time.Now()
				mu.Lock()
				out = append(out, pacedLead{id: l.ID, answered: at})
				mu.Unlock()
			}
		}()
	}
	end := time.Now().Add(d)
	var n int64
	for time.Now().Before(end) && ctx.Err() == nil {
		<-tick.C
		n++
		select {
		case work <- n:
		default: // behind: the rate is not met rather than queued up
		}
	}
	close(work)
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return out, err
	}
	return out, nil
}
