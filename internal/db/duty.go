package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// DefaultDutyEvery is how often a housekeeping duty is done.
const DefaultDutyEvery = time.Hour

// DutyCheck is how often an instance looks whether a duty of period
// every is due: a tenth of it (at least a second), so that the duty is
// done within a tenth of a period of its time whichever instances run.
func DutyCheck(every time.Duration) time.Duration { return max(every/10, time.Second) }

// ClaimDuty takes a housekeeping duty's turn: true for the one caller,
// of all the instances on the database, that finds the duty not done
// for a period (every) and moves its time on; the duty is then this
// caller's to do. A turn taken by a process killed before it finished is
// lost until the next period: duties are sweeps, done again whole.
func (d *DB) ClaimDuty(ctx context.Context, name string, every time.Duration, now time.Time) (bool, error) {
	took := false
	err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// One statement on both engines: the first claim inserts the row,
		// a later one updates it only once the period has passed; a row
		// left alone counts no change (0 rows), a claim taken 1.
		res, err := tx.ExecContext(ctx, `INSERT INTO duties (name, last_at, runs) VALUES ($1, $2, 1)
			ON CONFLICT (name) DO UPDATE SET last_at = excluded.last_at, runs = duties.runs + 1 WHERE duties.last_at <= $3`,
			name, now.UnixMicro(), now.Add(-every).UnixMicro())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		took = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("db: claim duty %s: %w", name, err)
	}
	return took, nil
}
