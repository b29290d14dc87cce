package smtp_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store/storetest"
)

// BenchmarkSendToMTA measures email.send end to end to the local MTA:
// build the letter, connect through the outbound guard, (TLS, AUTH,)
// MAIL, RCPT, DATA, QUIT, record it under the step's key. One connection
// per letter, as the action makes. Reported as e-mails/s.
func BenchmarkSendToMTA(b *testing.B) {
	m := startMTA(b)
	d := storetest.OpenSQLite(b)
	e := newEnvTB(b, m, d)
	for _, bc := range []struct {
		name string
		smtp map[string]any
	}{
		{"plain", map[string]any{"host": "127.0.0.1", "port": m.Plain, "security": "none", "from": "robot@example.test"}},
		{"ssl+auth", map[string]any{"host": "127.0.0.1", "port": m.SSL, "security": "ssl", "from": "robot@example.test:Обмен",
			"auth": true, "login": mtaLogin, "password": mtaPassword}},
		{"starttls+auth", map[string]any{"host": "127.0.0.1", "port": m.STARTTLS, "security": "starttls", "from": "robot@example.test:Обмен",
			"auth": true, "login": mtaLogin, "password": mtaPassword}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in, err := automation.DecodeValue(mustJSON(map[string]any{"to": "u6@example.test:Шестой", "subject": "Счёт № 1",
				"body": "<p>Здравствуйте!</p>", "body_type": "html", "smtp": bc.smtp}))
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := e.action.Run(context.Background(), &automation.Call{RunID: int64(1_000_000 + i), StepID: bc.name, Fresh: true, Log: log}, in)
				if err != nil {
					b.Fatal(err)
				}
				if r, _ := out.(map[string]any); r["result"] != "OK" {
					b.Fatalf("%v", out)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
		})
		// Runs send at once (the automation workers): 16 letters in
		// flight, each on its own connection.
		b.Run(bc.name+"/parallel16", func(b *testing.B) {
			in, err := automation.DecodeValue(mustJSON(map[string]any{"to": "u7@example.test", "subject": "Счёт № 2",
				"body": "Здравствуйте!", "smtp": bc.smtp}))
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			var n atomic.Int64
			n.Store(2_000_000)
			b.SetParallelism(8) // 8 × GOMAXPROCS 2
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					out, err := e.action.Run(context.Background(), &automation.Call{RunID: n.Add(1), StepID: bc.name, Fresh: true, Log: log}, in)
					if err != nil {
						b.Error(err)
						return
					}
					if r, _ := out.(map[string]any); r["result"] != "OK" {
						b.Errorf("%v", out)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
		})
	}
}
