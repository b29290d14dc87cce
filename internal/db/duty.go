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
		if _, err := tx.ExecContext(ctx, "INSERT INTO duties (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE duties SET last_at = $2, runs = runs + 1 WHERE name = $1 AND last_at <= $3",
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
