package store_test

// Throwaway harness (not committed): seeds 100k rows by SQL and times the
// search and report calls. OBMEN_EXPLAIN=1 go test ./internal/store -run TestZZExplain -v

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

func TestZZExplain(t *testing.T) {
	if os.Getenv("OBMEN_EXPLAIN") == "" {
		t.Skip()
	}
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			d := eng.Open(t)
			s := store.New(d)
			admin := storetest.Admin(t, s)
			_ = admin
			ctx := context.Background()
			now := time.Now().UnixMicro()
			n := 100000
			gen := "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 100000) "
			series := "g"
			if d.Dialect == db.Postgres {
				gen = "WITH g(i) AS (SELECT generate_series(1, 100000)) "
			}
			_ = series
			exec := func(q string) {
				t0 := time.Now()
				if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				t.Logf("seed %v", time.Since(t0))
			}
			exec(gen + fmt.Sprintf(`INSERT INTO leads (id, title, name, last_name, source_id, status_id, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, opportunity)
				SELECT i, 'Заявка ' || i, 'Иван', 'Петров-' || (i %% 977), 'WEB', 'NEW', 'заявка ' || i || ' иван петров-' || (i %% 977), 1, 1, 1, %d - i, %d, i * 100 FROM g`, now, now))
			exec(gen + `INSERT INTO comms (entity, record_id, kind, value, value_type, normalized) SELECT 'lead', i, 'PHONE', 'x', 'WORK', '7925' || substr('000' || (i % 1000), -3, 3) || substr('00' || (i / 1000 % 100), -2, 2) || substr('00' || (i % 100), -2, 2) FROM g`)
			exec(gen + `INSERT INTO comms (entity, record_id, kind, value, value_type, normalized) SELECT 'lead', i, 'EMAIL', 'x', 'WORK', 'l' || i || '@example.ru' FROM g`)
			exec(gen + fmt.Sprintf(`INSERT INTO deals (id, title, stage_id, category_id, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, opportunity, currency, won)
				SELECT i, 'Сделка ' || i, 'NEW', 0, 'сделка ' || i, 1, 1, 1, %d - i, %d, i * 1000, 'RUB', i %% 7 = 5 FROM g`, now, now))
			exec(gen + fmt.Sprintf(`INSERT INTO activities (id, kind, subject, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, start_at, end_at)
				SELECT i, 'call', 'Звонок ' || i, 1, 1, 1, %d, %d, %d + i * CAST(946080000 AS BIGINT), %d + i * CAST(946080000 AS BIGINT) + 1800000000 FROM g`, now, now, now-365*86400*1000000, now-365*86400*1000000))
			if d.Dialect == db.Postgres {
				exec("ANALYZE")
			} else {
				exec("ANALYZE")
			}
			_ = n
			tm := func(name string, fn func() error) {
				for k := 0; k < 2; k++ {
					t0 := time.Now()
					if err := fn(); err != nil {
						t.Fatal(name, err)
					}
					t.Logf("%-20s %v", name, time.Since(t0))
				}
			}
			for _, q := range []string{"500-05-00", "+7 925 500-05-00", "example.ru", "mail.ru", "ПЕТРОВ-500", "Несуществующий", "заявка", "ив"} {
				tm("search "+q, func() error { r, err := s.Search(ctx, q, 5); t.Log(len(r.Hits)); return err })
			}
			f := store.ReportFilter{From: time.Now().AddDate(0, -6, 0), To: time.Now().AddDate(0, 0, 1)}
			tm("stages", func() error { _, err := s.ReportDealStages(ctx, 0, f); return err })
			tm("leads", func() error { _, err := s.ReportLeads(ctx, f); return err })
			tm("won", func() error { _, err := s.ReportWon(ctx, f); return err })
			tm("acts", func() error { _, err := s.ReportActivities(ctx, f, time.Now()); return err })
			if p := os.Getenv("OBMEN_EXPLAIN_SQL"); p != "" {
				b, _ := os.ReadFile(p)
				rows, err := d.Reader().QueryContext(ctx, string(b))
				if err != nil {
					t.Fatal(err)
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					v := make([]any, len(cols))
					pv := make([]any, len(cols))
					for i := range v {
						pv[i] = &v[i]
					}
					rows.Scan(pv...)
					t.Log(v...)
				}
				rows.Close()
			}
		})
	}
}
