package telephony_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkZadarmaNotification is one signed NOTIFY_END of a new call over
// loopback HTTP to the connection's hook URL: checked, bound to its
// contact by phone, its activity and change event committed (SQLite)
// before the answer.
func BenchmarkZadarmaNotification(b *testing.B) {
	s := newServer(b, storetest.OpenSQLite(b))
	// The notification's path, not the hook URLs' limit (50 a second per
	// connection and per address after a burst of 200, shared by every
	// connection's pushes), is measured: set before the first request.
	s.App.Automation.Configure(automation.WithHookLimits(time.Microsecond, 1<<20, automation.DefaultHookBody))
	var conn struct {
		ID int64 `json:"id"`
	}
	s.do("POST", "/api/v1/connections", map[string]any{"type": "zadarma", "name": "Z", "settings": map[string]any{"key": "k", "secret": "s"}},
		http.StatusCreated, &conn)
	s.do("POST", "/api/v1/contacts", map[string]any{"name": "Пётр", "phones": []any{map[string]any{"value": "+79256424295"}}}, http.StatusCreated, nil)
	hook := s.hook(conn.ID)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, sig := zadarmaForm("s", "event", "NOTIFY_END", "call_start", "2026-12-05 12:00:00", "pbx_call_id", fmt.Sprint("b", i),
			"caller_id", "79256424295", "called_did", "74951234567", "internal", "101", "disposition", "answered", "duration", "30")
		if code, body := post(b, hook, f, sig); code != 200 || body["result"] != "created" {
			b.Fatalf("%d %v", code, body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
