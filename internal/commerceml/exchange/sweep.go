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
// the journal entries stay, without their files. It does both parts the
// sweeper does: sweepRows and sweepFiles.
func (s *Service) Sweep(ctx context.Context) error {
	if err := s.sweepRows(ctx); err != nil {
		return err
	}
	return s.sweepFiles(ctx)
}

// sweepCutoff is the time before which the files and sessions of the
// exchanges go.
func (s *Service) sweepCutoff(ctx context.Context) (Settings, time.Time, error) {
	set, err := LoadSettings(ctx, s.store)
	if err != nil {
		return set, time.Time{}, err
	}
	return set, s.now().Add(-time.Duration(set.KeepDays) * 24 * time.Hour), nil
}

// sweepRows is the database's part of the sweep, done by one instance of
// those on the database: the staged batches left waiting, the file_path
// of the old exchanges' entries, the old sessions' rows.
func (s *Service) sweepRows(ctx context.Context) error {
	set, cutoff, err := s.sweepCutoff(ctx)
	if err != nil {
		return err
	}
	if err := s.sweepStaged(ctx, set); err != nil {
		return err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The runs of the exchanges with sites (site_id) keep their files
		// for their own site's keep_days: the site service sweeps them.
		if _, err := tx.ExecContext(ctx, "UPDATE cml_exchanges SET file_path = '' WHERE started_at < $1 AND status <> $2 AND site_id = 0 AND file_path <> ''",
			cutoff.UnixMicro(), StatusRunning); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM cml_sessions WHERE created_at < $1", cutoff.UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("exchange: sweep: %w", err)
	}
	return nil
}

// sweepFiles is the files' part of the sweep, done by every instance on
// its own data directory (each may have its own OBMEN_DATA): the session
// folders and the sent files last modified before the cutoff. A session's
// folder is made after its row, so a folder older than the cutoff is that
// of a session the rows' part deletes or has deleted; a live session
// (sessionTTL is under one KeepDays) keeps its folder.
func (s *Service) sweepFiles(ctx context.Context) error {
	_, cutoff, err := s.sweepCutoff(ctx)
	if err != nil {
		return err
	}
	sessions, _ := filepath.Glob(filepath.Join(s.dir, "sessions", "*"))
	for _, p := range sessions {
		if st, err := os.Stat(p); err == nil && st.IsDir() && st.ModTime().Before(cutoff) {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("exchange: sweep: %w", err)
			}
		}
	}
	sent, _ := filepath.Glob(filepath.Join(s.dir, "sent", "*"))
	for _, p := range sent {
		if st, err := os.Stat(p); err == nil && st.ModTime().Before(cutoff) {
			_ = os.Remove(p)
		}
	}
	return nil
}

// sweeper sweeps once a period (Options.SweepEvery) while the service
// lives: the rows' part on one instance of those on the database (the
// claim), the files' part on each instance, for its own disk.
func (s *Service) sweeper() {
	defer s.wg.Done()
	// A switch a restart stopped half-way goes on now: a reader sees the
	// catalog part switched until it has.
	if err := s.resumeSwitches(s.ctx); err != nil && s.ctx.Err() == nil {
		s.log.Warn("exchange: resuming a switch", "err", err)
	}
	t := time.NewTicker(db.DutyCheck(s.sweepEvery))
	defer t.Stop()
	var filesAt time.Time // when this instance last swept its files
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			took, err := s.db.ClaimDuty(s.ctx, "commerceml.sweep", s.sweepEvery, s.now())
			if err == nil && took {
				err = s.sweepRows(s.ctx)
			}
			if err != nil && s.ctx.Err() == nil {
				s.log.Warn("exchange: sweep", "err", err)
			}
			if now := s.now(); now.Sub(filesAt) >= s.sweepEvery {
				filesAt = now
				if err := s.sweepFiles(s.ctx); err != nil && s.ctx.Err() == nil {
					s.log.Warn("exchange: sweep files", "err", err)
				}
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
