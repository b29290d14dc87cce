package exchange_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/commerceml/exchange"
)

// Each instance on the database sweeps its own disk (it may have its own
// OBMEN_DATA), though another instance holds the sweep's claim: a second
// service, whose period's turn is taken, removes its session folder that
// has no row (an old upload) and its old sent file by their modification
// time, keeps the fresh ones, and leaves the rows' part to the holder.
func TestSweepFilesOnEveryInstance(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// The other instance took this period's turn.
		if err := e.d.Write(e.ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO duties (name, last_at, runs) VALUES ('commerceml.sweep', $1, 7)
				ON CONFLICT (name) DO UPDATE SET last_at = excluded.last_at, runs = excluded.runs`, time.Now().Add(time.Hour).UnixMicro())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		old := time.Now().Add(-30 * 24 * time.Hour) // KeepDays is 14
		mk := func(p string, mod time.Time) string {
			p = filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("<КоммерческаяИнформация/>"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mod, mod); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Dir(p), mod, mod); err != nil {
				t.Fatal(err)
			}
			return p
		}
		gone := filepath.Join(dir, "sessions", "old-session")
		mk("sessions/old-session/import.xml", old)
		mk("sessions/live-session/import.xml", time.Now())
		sentOld := mk("sent/orders-old.xml", old)
		sentNew := filepath.Join(dir, "sent", "orders-new.xml")
		if err := os.WriteFile(sentNew, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		svc := exchange.New(e.app.Store, slog.New(slog.DiscardHandler), exchange.Options{Dir: dir, SweepEvery: 2 * time.Second})
		defer svc.Close()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(gone); os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the old session folder is kept on the instance without the claim")
			}
			time.Sleep(100 * time.Millisecond)
		}
		svc.Close()
		for p, want := range map[string]bool{sentOld: false, sentNew: true, filepath.Join(dir, "sessions", "live-session", "import.xml"): true} {
			if _, err := os.Stat(p); (err == nil) != want {
				t.Errorf("%s: kept %v, want %v (%v)", p, err == nil, want, err)
			}
		}
		var runs int
		if err := e.d.Read.QueryRowContext(e.ctx, "SELECT runs FROM duties WHERE name = 'commerceml.sweep'").Scan(&runs); err != nil || runs != 7 {
			t.Fatalf("the duty's turns %d (%v), want 7: the rows' part is the claim holder's", runs, err)
		}
	})
}
