package webform_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/webform"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkFormSubmit posts a lead form over loopback HTTP to a server on
// SQLite (synchronous=NORMAL, group commit): each answer comes after the
// lead, its calendar activity, its journal row and their events are
// committed. The limits are raised out of the way; 32 clients at once.
//
//	go test -run XXX -bench FormSubmit -benchtime 10000x ./internal/intake/webform/
func BenchmarkFormSubmit(b *testing.B) {
	d := storetest.OpenSQLite(b)
	st := store.New(d)
	admin := storetest.Admin(b, st)
	log := slog.New(slog.DiscardHandler)
	in := intake.New(st, log)
	fs := webform.New(in, log, webform.Options{BaseURL: "http://127.0.0.1", PerIP: httpx.NewLimiter(time.Microsecond, 1<<30), PerForm: httpx.NewLimiter(time.Microsecond, 1<<30)})
	mux := http.NewServeMux()
	fs.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f, err := fs.Create(b.Context(), webform.Form{Name: "bench", Enabled: true, UserID: admin.UserID, Module: "leads", ReturnURL: "https://site.example/thanks",
		Fields: []webform.Field{{Name: "name", Required: true}, {Name: "phone", Required: true}, {Name: "email"}, {Name: "comments"}}})
	if err != nil {
		b.Fatal(err)
	}
	action := srv.URL + "/f/" + f.PublicID
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var n atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			form := url.Values{"name": {"Посетитель " + strconv.FormatInt(i, 10)}, "phone": {"+7916" + strconv.FormatInt(1000000+i%9000000, 10)},
				"email": {"v" + strconv.FormatInt(i, 10) + "@example.ru"}, "comments": {"Перезвоните"}, "utm_source": {"bench"}}
			req, _ := http.NewRequest("POST", action, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://site.example")
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "submits/s")
	var leads int
	if err := d.Read.QueryRow("SELECT COUNT(*) FROM leads").Scan(&leads); err != nil || leads != b.N {
		b.Fatalf("leads = %d, want %d (%v)", leads, b.N, err)
	}
}
