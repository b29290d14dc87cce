package google

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sync is one user's sync as kept (tokens sealed, not here).
type Sync struct {
	ID           int64     `json:"id"`
	UserID       int64     `json:"user_id"`
	ConnectionID int64     `json:"connection_id"`
	Account      string    `json:"account"` // the Google account's e-mail
	Connected    bool      `json:"connected"`
	Settings     Settings  `json:"settings"`
	LastRunAt    time.Time `json:"last_run_at,omitzero"`
	LastResult   *Result   `json:"last_result,omitempty"`
	peopleToken  string
	calToken     string
	contactsCur  int64
	calendarCur  int64
	refresh      string // sealed
	access       string // sealed
	expiry       int64
}

// ErrNoSync is a user without a sync.
var ErrNoSync = errors.New("google: the user has no Google sync")

const syncColumns = "id, user_id, connection_id, account, refresh_token, access_token, token_expiry, settings, people_token, calendar_token, contacts_cursor, calendar_cursor, last_run_at, last_result"

func scanSync(row interface{ Scan(...any) error }) (Sync, error) {
	var s Sync
	var settings, result string
	var last int64
	if err := row.Scan(&s.ID, &s.UserID, &s.ConnectionID, &s.Account, &s.refresh, &s.access, &s.expiry, &settings,
		&s.peopleToken, &s.calToken, &s.contactsCur, &s.calendarCur, &last, &result); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s, ErrNoSync
		}
		return s, fmt.Errorf("google: read the sync: %w", err)
	}
	if err := json.Unmarshal([]byte(settings), &s.Settings); err != nil {
		return s, fmt.Errorf("google: sync %d: settings: %w", s.ID, err)
	}
	if result != "" {
		s.LastResult = &Result{}
		if err := json.Unmarshal([]byte(result), s.LastResult); err != nil {
			return s, fmt.Errorf("google: sync %d: last result: %w", s.ID, err)
		}
	}
	if last > 0 {
		s.LastRunAt = time.UnixMicro(last).UTC()
	}
	s.Connected = s.refresh != ""
	return s, nil
}

// Get returns a user's sync.
func (sv *Service) Get(ctx context.Context, userID int64) (Sync, error) {
	return scanSync(sv.d.DB.Reader().QueryRowContext(ctx, "SELECT "+syncColumns+" FROM google_syncs WHERE user_id = $1", userID))
}

// ensure returns the user's sync, made with the default settings when
// there is none.
func (sv *Service) ensure(ctx context.Context, userID int64) (Sync, error) {
	s, err := sv.Get(ctx, userID)
	if !errors.Is(err, ErrNoSync) {
		return s, err
	}
	b, _ := json.Marshal(DefaultSettings())
	now := sv.d.now().UnixMicro()
	err = sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO google_syncs (user_id, settings, created_at, updated_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (user_id) DO NOTHING`, userID, string(b), now)
		return err
	})
	if err != nil {
		return s, fmt.Errorf("google: create the sync of user %d: %w", userID, err)
	}
	return sv.Get(ctx, userID)
}

// SaveSettings checks and stores a user's settings; the sync then runs
// at its next tick.
func (sv *Service) SaveSettings(ctx context.Context, userID int64, set Settings) (Sync, error) {
	if err := set.Normalize(); err != nil {
		return Sync{}, err
	}
	if _, err := sv.ensure(ctx, userID); err != nil {
		return Sync{}, err
	}
	b, err := json.Marshal(set)
	if err != nil {
		return Sync{}, fmt.Errorf("google: settings: %w", err)
	}
	now := sv.d.now().UnixMicro()
	err = sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE google_syncs SET settings = $1, updated_at = $2, due_at = $2 WHERE user_id = $3", string(b), now, userID)
		return err
	})
	if err != nil {
		return Sync{}, fmt.Errorf("google: save the settings of user %d: %w", userID, err)
	}
	return sv.Get(ctx, userID)
}

// Remove deletes a user's sync: the settings, the tokens and the links.
// No record is deleted, in Obmen or in Google (seed 000: «Удалить
// синхронизацию» removes its settings, not its results).
func (sv *Service) Remove(ctx context.Context, userID int64) error {
	err := sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM google_links WHERE sync_id IN (SELECT id FROM google_syncs WHERE user_id = $1)", userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM google_syncs WHERE user_id = $1", userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("google: remove the sync of user %d: %w", userID, err)
	}
	return nil
}

// link is a CRM record and its twin in Google.
type link struct {
	Kind       string
	RecordID   int64
	RemoteID   string
	ETag       string
	LocalHash  string
	RemoteHash string
	Extra      string
}

// Kinds of links.
const (
	linkContact = "contact"
	linkEvent   = "event"
)

// links loads every link of a kind of a sync, by record and by remote id.
func (sv *Service) links(ctx context.Context, syncID int64, kind string) (byRecord map[int64]*link, byRemote map[string]*link, err error) {
	rows, err := sv.d.DB.Reader().QueryContext(ctx, "SELECT record_id, remote_id, etag, local_hash, remote_hash, remote_extra FROM google_links WHERE sync_id = $1 AND kind = $2", syncID, kind)
	if err != nil {
		return nil, nil, fmt.Errorf("google: read the links: %w", err)
	}
	defer rows.Close()
	byRecord, byRemote = map[int64]*link{}, map[string]*link{}
	for rows.Next() {
		l := &link{Kind: kind}
		if err := rows.Scan(&l.RecordID, &l.RemoteID, &l.ETag, &l.LocalHash, &l.RemoteHash, &l.Extra); err != nil {
			return nil, nil, fmt.Errorf("google: read the links: %w", err)
		}
		byRecord[l.RecordID], byRemote[l.RemoteID] = l, l
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("google: read the links: %w", err)
	}
	return byRecord, byRemote, nil
}

// saveLink writes a link (a record is linked to one twin, a twin to one
// record: a stale pair on either side is replaced).
func (sv *Service) saveLink(ctx context.Context, syncID int64, l *link) error {
	now := sv.d.now().UnixMicro()
	err := sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM google_links WHERE sync_id = $1 AND kind = $2 AND remote_id = $3 AND record_id <> $4",
			syncID, l.Kind, l.RemoteID, l.RecordID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO google_links (sync_id, kind, record_id, remote_id, etag, local_hash, remote_hash, remote_extra, synced_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (sync_id, kind, record_id) DO UPDATE SET remote_id = excluded.remote_id, etag = excluded.etag,
			local_hash = excluded.local_hash, remote_hash = excluded.remote_hash, remote_extra = excluded.remote_extra, synced_at = excluded.synced_at`,
			syncID, l.Kind, l.RecordID, l.RemoteID, l.ETag, l.LocalHash, l.RemoteHash, l.Extra, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("google: save the link of %s %d: %w", l.Kind, l.RecordID, err)
	}
	return nil
}

func (sv *Service) dropLink(ctx context.Context, syncID int64, kind string, recordID int64) error {
	err := sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM google_links WHERE sync_id = $1 AND kind = $2 AND record_id = $3", syncID, kind, recordID)
		return err
	})
	if err != nil {
		return fmt.Errorf("google: drop the link of %s %d: %w", kind, recordID, err)
	}
	return nil
}

// saveState stores what a run leaves for the next: sync tokens, cursors,
// the result.
func (sv *Service) saveState(ctx context.Context, s Sync, res Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("google: result: %w", err)
	}
	now := sv.d.now().UnixMicro()
	err = sv.d.DB.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE google_syncs SET people_token = $1, calendar_token = $2, contacts_cursor = $3, calendar_cursor = $4,
			last_run_at = $5, last_result = $6, updated_at = $5 WHERE id = $7`,
			s.peopleToken, s.calToken, s.contactsCur, s.calendarCur, now, string(b), s.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("google: save the state of sync %d: %w", s.ID, err)
	}
	return nil
}
