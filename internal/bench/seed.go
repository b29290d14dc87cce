package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// Seed loads n contacts, each with one mobile phone, straight into the
// database in large transactions (bulk load, bypassing the API and the
// event log: it prepares data for reads, it is not a write benchmark). It
// returns a sample of the phones as a user would type them.
func Seed(ctx context.Context, dataDir, pgURL string, n int, log io.Writer) ([]string, time.Duration, error) {
	d, err := db.Open(ctx, db.Options{SQLitePath: dataPath(dataDir), PostgresURL: pgURL, SQLiteSync: "NORMAL", GroupCommitMax: 1})
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return nil, 0, err
	}
	var base int64
	if err := d.Read.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM contacts").Scan(&base); err != nil {
		return nil, 0, fmt.Errorf("bench: seed: %w", err)
	}
	start := time.Now()
	const batch = 5000
	const rowsPerInsert = 500
	now := time.Now().UnixMicro()
	var sample []string
	for done := 0; done < n; {
		size := min(batch, n-done)
		err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for off := 0; off < size; off += rowsPerInsert {
				k := min(rowsPerInsert, size-off)
				var cs, ms strings.Builder
				cargs := make([]any, 0, k*4)
				margs := make([]any, 0, k*4)
				cs.WriteString("INSERT INTO contacts (id, name, last_name, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at) VALUES ")
				ms.WriteString("INSERT INTO comms (entity, record_id, kind, value, value_type, normalized, sort) VALUES ")
				for j := 0; j < k; j++ {
					i := done + off + j
					id := base + int64(i) + 1
					num := 9000000000 + int64(i)*7%1000000000 + int64(i/1000000000)
					e164 := fmt.Sprintf("+7%d", num)
					typed := fmt.Sprintf("8 (%03d) %03d-%02d-%02d", num/10000000, num/10000%1000, num/100%100, num%100)
					if j > 0 {
						cs.WriteString(", ")
						ms.WriteString(", ")
					}
					p := len(cargs)
					fmt.Fprintf(&cs, "($%d, 'Контакт', $%d, $%d, 1, 1, 1, %d, %d)", p+1, p+2, p+3, now, now)
					cargs = append(cargs, id, fmt.Sprintf("Номер%d", i), fmt.Sprintf("номер%d контакт", i))
					q := len(margs)
					fmt.Fprintf(&ms, "('contact', $%d, 'PHONE', $%d, 'MOBILE', $%d, 0)", q+1, q+2, q+3)
					margs = append(margs, id, typed, e164)
					if i%997 == 0 && len(sample) < 20000 {
						sample = append(sample, typed)
					}
				}
				if _, err := tx.ExecContext(ctx, cs.String(), cargs...); err != nil {
					return fmt.Errorf("bench: seed contacts: %w", err)
				}
				if _, err := tx.ExecContext(ctx, ms.String(), margs...); err != nil {
					return fmt.Errorf("bench: seed phones: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
		done += size
		if done%100000 == 0 {
			fmt.Fprintf(log, "seeded %d contacts\n", done)
		}
	}
	if d.Dialect == db.Postgres {
		// Identity columns do not move on explicit ids; keep them ahead.
		// VACUUM sets the visibility map (as autovacuum would on a
		// database that has lived a while), without which an index-only
		// scan still visits the table.
		if _, err := d.Read.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('contacts', 'id'), (SELECT MAX(id) FROM contacts))"); err != nil {
			return nil, 0, fmt.Errorf("bench: seed: %w", err)
		}
		for _, t := range []string{"contacts", "comms"} {
			// One statement each: VACUUM does not run in the implicit
			// transaction of a multi-statement query.
			if _, err := d.Read.ExecContext(ctx, "VACUUM ANALYZE "+t); err != nil {
				return nil, 0, fmt.Errorf("bench: seed: vacuum %s: %w", t, err)
			}
		}
	} else if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "ANALYZE")
		return err
	}); err != nil {
		return nil, 0, fmt.Errorf("bench: seed: analyze: %w", err)
	}
	return sample, time.Since(start), nil
}
