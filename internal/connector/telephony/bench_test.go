package telephony_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkZadarmaNotification is one signed NOTIFY_END of a new call over
// loopback HTTP: checked, bound to its contact by phone, its activity and
// change event committed (SQLite) before the answer.
func BenchmarkZadarmaNotification(b *testing.B) {
	s := newServer(b, storetest.OpenSQLite(b))
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
