package carddav_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/dav/carddav"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// peakHeap samples the heap in use while f runs and returns its peak.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	return peak.Load()
}

// BenchmarkSync10k is the figure of issue 22: a client's first sync of an
// address book of 10,000 contacts over CardDAV (one sync-collection with
// every card's data, as DAVx⁵ and iOS fetch them) and a sync-collection
// round trip when nothing changed. Server and client share the process,
// so peak-heap-MB (the heap in use, sampled every 5 ms) is an upper bound
// of the server's. Run:
//
//	go test -run XXX -bench Sync10k -benchtime 3x ./internal/dav/carddav/
func BenchmarkSync10k(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			d := e.Open(b)
			s := store.New(d)
			admin := storetest.Admin(b, s)
			ctx := context.Background()
			alice, err := s.CreateUser(ctx, admin, crm.User{Login: "alice", Role: crm.RoleManager, FirstName: "Алиса"}, "alice-Secret-1")
			if err != nil {
				b.Fatal(err)
			}
			_, key, err := s.CreateAPIKey(ctx, admin, alice.ID, "bench")
			if err != nil {
				b.Fatal(err)
			}
			const n = 10000
			cs := make([]crm.Contact, n)
			for i := range cs {
				cs[i] = crm.Contact{Name: fmt.Sprintf("Имя%d", i), LastName: fmt.Sprintf("Фамилия%d", i), Position: "Менеджер",
					Meta: crm.Meta{AssignedByID: alice.ID},
					Comms: crm.Comms{Phones: []crm.Comm{{Value: fmt.Sprintf("+7916%07d", i), ValueType: "MOBILE"}},
						Emails: []crm.Comm{{Value: fmt.Sprintf("person%d@example.org", i), ValueType: "WORK"}}},
					Address: crm.Address{City: "Москва", Street: "ул. Ленина", House: fmt.Sprint(i)}}
			}
			for i := 0; i < n; i += 1000 {
				if _, errs, err := s.ImportContacts(ctx, admin, cs[i:i+1000], false); err != nil || len(errs) > 0 {
					b.Fatalf("import: %v %v", err, errs)
				}
			}
			h := dav.New(s, slog.New(slog.DiscardHandler))
			h.Add(carddav.NewService(s, nil))
			mux := http.NewServeMux()
			h.Register(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			book := srv.URL + "/dav/principals/alice/addressbooks/contacts/"
			report := func(token, props string) (int, string) {
				req, _ := http.NewRequest("REPORT", book, strings.NewReader(`<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:sync-token>`+
					token+`</d:sync-token><d:sync-level>1</d:sync-level><d:prop>`+props+`</d:prop></d:sync-collection>`))
				req.SetBasicAuth("alice", key)
				req.Header.Set("Content-Type", "application/xml")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				var tail strings.Builder
				nb, _ := io.Copy(io.Discard, io.TeeReader(resp.Body, &limitTail{&tail}))
				if resp.StatusCode != http.StatusMultiStatus {
					b.Fatalf("REPORT: %d", resp.StatusCode)
				}
				return int(nb), tail.String()
			}
			reportLimit := func(token string, limit int) (int, string) {
				return report(token, "<d:getetag/><card:address-data/></d:prop><d:limit><d:nresults>"+strconv.Itoa(limit)+"</d:nresults></d:limit><d:prop>")
			}
			var token string
			b.Run("first-sync", func(b *testing.B) {
				var peak uint64
				var size int
				for b.Loop() {
					p := peakHeap(func() {
						var tail string
						size, tail = report("", "<d:getetag/><card:address-data/>")
						token = tokenRe.FindStringSubmatch(tail)[1]
					})
					peak = max(peak, p)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(size)/(1<<20), "response-MB")
			})
			// A first sync in pages of 500 (RFC 6578 §3.7), as a client
			// that sends a limit does: each page is smaller, the whole
			// costs the listing once a page.
			b.Run("first-sync-pages-500", func(b *testing.B) {
				var peak uint64
				pages := 0
				for b.Loop() {
					tok, more := "", true
					for pages = 0; more; pages++ {
						p := peakHeap(func() {
							_, tail := reportLimit(tok, 500)
							tok = tokenRe.FindStringSubmatch(tail)[1]
							more = strings.Contains(tail, "507 Insufficient Storage") || strings.Contains(tok, ".")
						})
						peak = max(peak, p)
						if pages > n/500+2 {
							b.Fatal("the pages do not end")
						}
					}
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB/page")
				b.ReportMetric(float64(pages), "pages")
			})
			b.Run("no-change", func(b *testing.B) {
				for b.Loop() {
					if size, _ := report(token, "<d:getetag/>"); size > 1000 {
						b.Fatalf("a no-change sync answered %d bytes", size)
					}
				}
			})
		})
	}
}

// limitTail keeps the last 4 KB written (where the sync-token is).
type limitTail struct{ b *strings.Builder }

func (l *limitTail) Write(p []byte) (int, error) {
	s := l.b.String() + string(p)
	if len(s) > 4096 {
		s = s[len(s)-4096:]
	}
	l.b.Reset()
	l.b.WriteString(s)
	return len(p), nil
}
