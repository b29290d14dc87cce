package exchange

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/obmen/obmen/internal/db"
)

// Sweep removes the raw files of exchanges older than the settings'
// KeepDays, with the uploads of their sessions, and expired sessions;
// the journal entries stay, without their files.
func (s *Service) Sweep(ctx context.Context) error {
	set, err := LoadSettings(ctx, s.store)
	if err != nil {
		return err
	}
	if err := s.sweepStaged(ctx, set); err != nil {
		return err
	}
	cutoff := s.now().Add(-time.Duration(set.KeepDays) * 24 * time.Hour).UnixMicro()
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id FROM cml_sessions WHERE created_at < $1", cutoff)
	if err != nil {
		return fmt.Errorf("exchange: sweep: %w", err)
	}
	var old []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err == nil {
			old = append(old, id)
		}
	}
	rows.Close()
	for _, id := range old {
		if err := os.RemoveAll(s.sessionDir(id)); err != nil {
			return fmt.Errorf("exchange: sweep: %w", err)
		}
	}
	sent, _ := filepath.Glob(filepath.Join(s.dir, "sent", "*"))
	for _, p := range sent {
		if st, err := os.Stat(p); err == nil && st.ModTime().UnixMicro() < cutoff {
			_ = os.Remove(p)
		}
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The runs of the exchanges with sites (site_id) keep their files
		// for their own site's keep_days: the site service sweeps them.
		if _, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET file_path = '' WHERE started_at < $1 AND status <> $2 AND site_id = 0", cutoff, StatusRunning); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM cml_sessions WHERE created_at < $1", cutoff)
		return err
	})
}

// sweeper runs Sweep once a period (Options.SweepEvery) while the
// service lives, on one instance of those on the database.
func (s *Service) sweeper() {
	defer s.wg.Done()
	// A switch a restart stopped half-way goes on now: a reader sees the
	// catalog part switched until it has.
	if err := s.resumeSwitches(s.ctx); err != nil && s.ctx.Err() == nil {
		s.log.Warn("exchange: resuming a switch", "err", err)
	}
	t := time.NewTicker(db.DutyCheck(s.sweepEvery))
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			took, err := s.db.ClaimDuty(s.ctx, "commerceml.sweep", s.sweepEvery, s.now())
			if err == nil && took {
				err = s.Sweep(s.ctx)
			}
			if err != nil && s.ctx.Err() == nil {
				s.log.Warn("exchange: sweep", "err", err)
			}
		}
	}
}

// resumeSwitches goes on with the switches stopped half-way.
func (s *Service) resumeSwitches(ctx context.Context) error {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, session_id FROM cml_exchanges WHERE batch_id = id AND switch_at <> '' ORDER BY id")
	if err != nil {
		return fmt.Errorf("exchange: switches to resume: %w", err)
	}
	type stopped struct {
		id      int64
		session string
	}
	var all []stopped
	for rows.Next() {
		var b stopped
		if err := rows.Scan(&b.id, &b.session); err == nil {
			all = append(all, b)
		}
	}
	rows.Close()
	if len(all) == 0 {
		return rows.Err()
	}
	set, err := LoadSettings(ctx, s.store)
	if err != nil {
		return err
	}
	for _, b := range all {
		if err := s.switchBatch(ctx, b.id, s.sessionOf(ctx, b.session), set, false, ""); err != nil {
			if errors.Is(err, errStopped) {
				return err
			}
			s.discardBatch(ctx, b.id, err)
		}
	}
	return nil
}
