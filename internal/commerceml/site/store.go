package site

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

// Store keeps the site exchanges' settings (table site_exchanges).
type Store struct {
	db  *db.DB
	st  *store.Store
	box *secret.Box
	now func() time.Time
}

// NewStore returns the settings store; box seals the passwords.
func NewStore(st *store.Store, box *secret.Box) *Store {
	return &Store{db: st.DB(), st: st, box: box, now: func() time.Time { return time.Now().UTC() }}
}

const columns = `id, name, settings, password, catalog_failures, orders_failures`

// scan reads a row; the password stays sealed in sealed.
func scan(row interface{ Scan(...any) error }) (Settings, string, error) {
	var s Settings
	var id int64
	var name, raw, sealed string
	var cf, of int
	if err := row.Scan(&id, &name, &raw, &sealed, &cf, &of); err != nil {
		return s, "", err
	}
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return s, "", fmt.Errorf("site exchange %d: decode settings: %w", id, err)
	}
	s.ID, s.Name, s.Password, s.PasswordSet = id, name, "", sealed != ""
	s.CatalogFailures, s.OrdersFailures = cf, of
	s.Failing = s.Alert()
	return s, sealed, nil
}

func (s *Store) get(ctx context.Context, id int64) (Settings, string, error) {
	set, sealed, err := scan(s.db.Read.QueryRowContext(ctx, "SELECT "+columns+" FROM site_exchanges WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return set, "", store.NotFound("site exchange", id)
	}
	if err != nil {
		return set, "", fmt.Errorf("site exchange %d: %w", id, err)
	}
	return set, sealed, nil
}

// Get returns a site's settings without the password.
func (s *Store) Get(ctx context.Context, id int64) (Settings, error) {
	set, _, err := s.get(ctx, id)
	return set, err
}

// Open returns a site's settings with the password open, for a run; it
// is never shown.
func (s *Store) Open(ctx context.Context, id int64) (Settings, error) {
	set, sealed, err := s.get(ctx, id)
	if err != nil {
		return set, err
	}
	if sealed != "" {
		if set.Password, err = s.box.Open(sealed); err != nil {
			return set, fmt.Errorf("site exchange %d: the password cannot be opened (was the secrets key changed?): %w", id, err)
		}
	}
	return set, nil
}

// List returns every site, by name.
func (s *Store) List(ctx context.Context) ([]Settings, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+columns+" FROM site_exchanges ORDER BY name, id")
	if err != nil {
		return nil, fmt.Errorf("site exchanges: %w", err)
	}
	defer rows.Close()
	out := []Settings{}
	for rows.Next() {
		set, _, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("site exchanges: %w", err)
		}
		out = append(out, set)
	}
	return out, rows.Err()
}

// prepare validates the settings and encodes them without the password.
func (s *Store) prepare(ctx context.Context, in *Settings) (string, error) {
	if err := in.Normalize(); err != nil {
		return "", err
	}
	if in.ResponsibleUserID != 0 {
		if _, err := s.st.GetUser(ctx, in.ResponsibleUserID); err != nil {
			return "", crm.Invalid("responsible_user_id", "no such user: %d", in.ResponsibleUserID)
		}
	}
	if in.OwnerAccountID != 0 {
		a, err := s.st.GetAccount(ctx, in.OwnerAccountID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && a.DeletedAt != nil) {
			// One in the recycle bin would stand for no owner at every run.
			return "", crm.Invalid("owner_account_id", "no such %s: %d", "company", in.OwnerAccountID)
		}
		if err != nil {
			return "", fmt.Errorf("site exchange: owner company %d: %w", in.OwnerAccountID, err)
		}
	}
	for i, id := range in.Catalogs {
		if _, err := s.st.GetCatalog(ctx, id); err != nil {
			return "", crm.Invalid(fmt.Sprintf("catalogs[%d]", i), "no such catalog: %d", id)
		}
	}
	kept := *in
	kept.ID, kept.Name, kept.Password, kept.PasswordSet, kept.CatalogFailures, kept.OrdersFailures, kept.Failing = 0, "", "", false, 0, 0, false
	b, err := json.Marshal(kept)
	return string(b), err
}

func nameTaken(name string) error {
	return crm.Invalid("name", "a site exchange named %q already exists", name)
}

// Create saves a new site; its password is required.
func (s *Store) Create(ctx context.Context, actor crm.Actor, in Settings) (Settings, error) {
	enc, err := s.prepare(ctx, &in)
	if err != nil {
		return in, err
	}
	if in.Password == "" {
		return in, crm.Invalid("password", "is required: the site administrator's password")
	}
	sealed, err := s.box.Seal(in.Password)
	if err != nil {
		return in, fmt.Errorf("site exchange: seal the password: %w", err)
	}
	now := s.now().UnixMicro()
	var id int64
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO site_exchanges (name, settings, password, catalog_due_at, orders_due_at, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $7) RETURNING id`, in.Name, enc, sealed, due(now, in.CatalogEvery, in.Enabled), due(now, in.OrdersEvery, in.Enabled), actor.UserID, now).Scan(&id)
	})
	if db.IsUniqueViolation(err) {
		return in, nameTaken(in.Name)
	}
	if err != nil {
		return in, fmt.Errorf("site exchange: create %q: %w", in.Name, err)
	}
	return s.Get(ctx, id)
}

// due is when a schedule of every minutes next runs from now (µs); 0
// when there is none.
func due(now int64, every int, enabled bool) int64 {
	if every <= 0 || !enabled {
		return 0
	}
	return now + int64(every)*int64(time.Minute/time.Microsecond)
}

// Update replaces a site's settings; an empty password keeps the stored
// one. A changed schedule starts again from now.
func (s *Store) Update(ctx context.Context, actor crm.Actor, id int64, in Settings) (Settings, error) {
	prev, _, err := s.get(ctx, id)
	if err != nil {
		return prev, err
	}
	enc, err := s.prepare(ctx, &in)
	if err != nil {
		return in, err
	}
	now := s.now().UnixMicro()
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE site_exchanges SET name = $1, settings = $2, updated_by_id = $3, updated_at = $4 WHERE id = $5`,
			in.Name, enc, actor.UserID, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("site exchange", id)
		}
		if in.Password != "" {
			sealed, err := s.box.Seal(in.Password)
			if err != nil {
				return fmt.Errorf("seal the password: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET password = $1 WHERE id = $2", sealed, id); err != nil {
				return err
			}
		}
		if prev.CatalogEvery != in.CatalogEvery || prev.Enabled != in.Enabled {
			if _, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET catalog_due_at = $1 WHERE id = $2", due(now, in.CatalogEvery, in.Enabled), id); err != nil {
				return err
			}
		}
		if prev.OrdersEvery != in.OrdersEvery || prev.Enabled != in.Enabled {
			if _, err := tx.ExecContext(ctx, "UPDATE site_exchanges SET orders_due_at = $1 WHERE id = $2", due(now, in.OrdersEvery, in.Enabled), id); err != nil {
				return err
			}
		}
		return nil
	})
	if db.IsUniqueViolation(err) {
		return in, nameTaken(in.Name)
	}
	if err != nil {
		return in, fmt.Errorf("site exchange %d: update: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Delete removes a site; its journal entries stay.
func (s *Store) Delete(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM site_exchanges WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("site exchange %d: delete: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("site exchange", id)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM site_pictures WHERE site_id = $1", id); err != nil {
			return fmt.Errorf("site exchange %d: delete: %w", id, err)
		}
		return nil
	})
}
