package automation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store"
)

const bundleColumns = `id, name, active, version, trigger_type, definition, next_fire_at, hook_token,
	created_by_id, updated_by_id, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func (s *Service) scanBundle(row scanner) (Bundle, error) {
	var b Bundle
	var def, hook string
	var next, created, updated int64
	if err := row.Scan(&b.ID, &b.Name, &b.Active, &b.Version, &b.Trigger.Type, &def, &next, &hook,
		&b.CreatedBy, &b.UpdatedBy, &created, &updated); err != nil {
		return b, err
	}
	active := b.Active
	if err := json.Unmarshal([]byte(def), &b.Definition); err != nil {
		return b, fmt.Errorf("automation: bundle %d: decode definition: %w", b.ID, err)
	}
	b.Active = active
	b.CreatedAt, b.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if next > 0 && b.Trigger.Type == TriggerSchedule {
		t := time.UnixMicro(next).UTC()
		b.NextFireAt = &t
	}
	if hook != "" && b.Trigger.Type == TriggerWebhook {
		token, err := s.box.Open(hook)
		if err != nil {
			return b, fmt.Errorf("automation: bundle %d: open webhook token: %w", b.ID, err)
		}
		b.WebhookURL = strings.TrimRight(s.baseURL, "/") + "/hooks/" + token
	}
	return b, nil
}

// Get returns a bundle with its current definition (secrets masked).
func (s *Service) Get(ctx context.Context, id int64) (Bundle, error) {
	b, err := s.scanBundle(s.db.Read.QueryRowContext(ctx, "SELECT "+bundleColumns+" FROM automation_bundles WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, store.NotFound("bundle", id)
	}
	if err != nil {
		return b, fmt.Errorf("automation: get bundle %d: %w", id, err)
	}
	b.Definition = s.maskSecrets(b.Definition)
	return b, nil
}

// ManualBundles returns the active bundles a user starts by hand on a
// record of entity (a card's "Run" menu), by name: a cheap read for every
// card, without List's run statistics.
func (s *Service) ManualBundles(ctx context.Context, entity string) ([]Bundle, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+bundleColumns+` FROM automation_bundles
		WHERE active = TRUE AND trigger_type = 'manual' AND trigger_entity = $1 ORDER BY name, id`, entity)
	if err != nil {
		return nil, fmt.Errorf("automation: manual bundles of %s: %w", entity, err)
	}
	defer rows.Close()
	var out []Bundle
	for rows.Next() {
		b, err := s.scanBundle(rows)
		if err != nil {
			return nil, fmt.Errorf("automation: manual bundles of %s: %w", entity, err)
		}
		b.Definition = s.maskSecrets(b.Definition)
		out = append(out, b)
	}
	return out, rows.Err()
}

// List returns every bundle, with its last run and its errors of the last
// 24 hours.
func (s *Service) List(ctx context.Context) ([]Bundle, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+bundleColumns+" FROM automation_bundles ORDER BY name, id")
	if err != nil {
		return nil, fmt.Errorf("automation: list bundles: %w", err)
	}
	var out []Bundle
	for rows.Next() {
		b, err := s.scanBundle(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("automation: list bundles: %w", err)
		}
		b.Definition = s.maskSecrets(b.Definition)
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("automation: list bundles: %w", err)
	}
	if len(out) == 0 {
		return []Bundle{}, nil
	}
	byID := map[int64]*Bundle{}
	for i := range out {
		byID[out[i].ID] = &out[i]
	}
	// The last run of each bundle: one index probe per bundle.
	rows, err = s.db.Read.QueryContext(ctx, `SELECT r.bundle_id, r.status, r.created_at FROM automation_runs r
		WHERE r.id = (SELECT MAX(id) FROM automation_runs x WHERE x.bundle_id = r.bundle_id)`)
	if err != nil {
		return nil, fmt.Errorf("automation: list bundles: last runs: %w", err)
	}
	for rows.Next() {
		var id, at int64
		var st string
		if err := rows.Scan(&id, &st, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("automation: list bundles: last runs: %w", err)
		}
		if b := byID[id]; b != nil {
			t := time.UnixMicro(at).UTC()
			b.LastRunAt, b.LastRun = &t, st
		}
	}
	rows.Close()
	rows, err = s.db.Read.QueryContext(ctx, `SELECT bundle_id, COUNT(*) FROM automation_runs
		WHERE status = 'error' AND created_at >= $1 GROUP BY bundle_id`, s.now().Add(-24*time.Hour).UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("automation: list bundles: errors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("automation: list bundles: errors: %w", err)
		}
		if b := byID[id]; b != nil {
			b.Errors24h = n
		}
	}
	return out, rows.Err()
}

// Validate checks a definition without saving it (the editor's live
// check); nil when it is fine.
func (s *Service) Validate(d Definition) error {
	if _, err := s.reg.Compile(d); err != nil {
		return err
	}
	if ps, err := s.reg.checkConnections(context.Background(), d); err != nil {
		return err
	} else if len(ps) > 0 {
		return &InvalidError{Problems: ps}
	}
	return nil
}

// Create saves a new bundle as version 1.
func (s *Service) Create(ctx context.Context, actor crm.Actor, d Definition) (Bundle, error) {
	var id int64
	err := s.save(ctx, actor, 0, d, func(ctx context.Context, tx *sql.Tx, def string, c *Compiled) error {
		now := s.now().UnixMicro()
		hash, sealed, err := s.hookToken(c.Def.Trigger.Type)
		if err != nil {
			return err
		}
		cursor, err := s.logEnd(ctx, tx)
		if err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO automation_bundles (name, active, version, trigger_type, trigger_entity, definition,
			cursor, next_fire_at, hook_hash, hook_token, run_as_user_id, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12) RETURNING id`,
			c.Def.Name, c.Def.Active, c.Def.Trigger.Type, c.Def.Trigger.Entity, def, cursor, s.nextFire(c, time.Time{}),
			hash, sealed, c.Def.RunAs, actor.UserID, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("automation: insert bundle: %w", err)
		}
		return insertVersion(ctx, tx, id, 1, def, actor.UserID, now)
	})
	if err != nil {
		return Bundle{}, err
	}
	s.pokeSchedules()
	return s.Get(ctx, id)
}

// Update saves d as the bundle's next version. Past runs keep showing the
// version they ran.
func (s *Service) Update(ctx context.Context, actor crm.Actor, id int64, d Definition) (Bundle, error) {
	err := s.save(ctx, actor, id, d, func(ctx context.Context, tx *sql.Tx, def string, c *Compiled) error {
		var version int
		var wasType, wasEntity, hook, wasDef string
		var wasActive bool
		err := tx.QueryRowContext(ctx, "SELECT version, trigger_type, trigger_entity, active, hook_token, definition FROM automation_bundles WHERE id = $1"+s.forUpdate(), id).
			Scan(&version, &wasType, &wasEntity, &wasActive, &hook, &wasDef)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("bundle", id)
		}
		if err != nil {
			return fmt.Errorf("automation: update bundle %d: %w", id, err)
		}
		now := s.now().UnixMicro()
		version++
		if err := insertVersion(ctx, tx, id, version, def, actor.UserID, now); err != nil {
			return err
		}
		// A bundle that starts listening to the change log (again, or to
		// another entity) starts from now, not from the past.
		resetCursor := c.Def.Active && (!wasActive || wasType != c.Def.Trigger.Type || wasEntity != c.Def.Trigger.Entity)
		cursor, err := s.logEnd(ctx, tx)
		if err != nil {
			return err
		}
		// A connector's trigger polled on another connection (or of
		// another kind) starts afresh: the old cursor is another
		// account's. Any change polls again soon (a new interval).
		var was Definition
		_ = json.Unmarshal([]byte(wasDef), &was)
		resetPoll := wasType != c.Def.Trigger.Type || was.Trigger.Connection != c.Def.Trigger.Connection
		if _, err := tx.ExecContext(ctx, `UPDATE automation_bundles SET poll_cursor = CASE WHEN $2 THEN '' ELSE poll_cursor END,
			poll_lease_until = CASE WHEN $2 THEN 0 ELSE poll_lease_until END, poll_due_at = 0 WHERE id = $1`,
			id, resetPoll); err != nil {
			return fmt.Errorf("automation: update bundle %d: %w", id, err)
		}
		var hookHash any = nil
		sealed := ""
		if c.Def.Trigger.Type == TriggerWebhook {
			if hook != "" {
				token, err := s.box.Open(hook)
				if err != nil {
					return fmt.Errorf("automation: bundle %d: open webhook token: %w", id, err)
				}
				hookHash, sealed = hashToken(token), hook
			} else if hookHash, sealed, err = s.hookToken(TriggerWebhook); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE automation_bundles SET name = $2, active = $3, version = $4, trigger_type = $5,
			trigger_entity = $6, definition = $7, cursor = CASE WHEN $8 THEN $9 ELSE cursor END, next_fire_at = $10,
			hook_hash = $11, hook_token = $12, run_as_user_id = $13, updated_by_id = $14, updated_at = $15 WHERE id = $1`,
			id, c.Def.Name, c.Def.Active, version, c.Def.Trigger.Type, c.Def.Trigger.Entity, def, resetCursor, cursor,
			s.nextFire(c, time.Time{}), hookHash, sealed, c.Def.RunAs, actor.UserID, now)
		if err != nil {
			return fmt.Errorf("automation: update bundle %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Bundle{}, err
	}
	s.pokeSchedules()
	return s.Get(ctx, id)
}

// save validates d (with the secrets of bundle id's current version for
// masked ones), seals its secrets and runs write in a transaction with the
// definition's JSON.
func (s *Service) save(ctx context.Context, actor crm.Actor, id int64, d Definition,
	write func(ctx context.Context, tx *sql.Tx, def string, c *Compiled) error) error {
	var prev *Definition
	if id != 0 {
		p, _, err := s.storedDefinition(ctx, id)
		if err != nil {
			return err
		}
		prev = &p
	}
	sealed, err := s.sealSecrets(d, prev)
	if err != nil {
		return err
	}
	c, err := s.reg.Compile(sealed)
	if err != nil {
		return err
	}
	if ps, err := s.reg.checkConnections(ctx, sealed); err != nil {
		return err
	} else if len(ps) > 0 {
		return &InvalidError{Problems: ps}
	}
	if d.RunAs != 0 {
		u, err := s.store.GetUser(ctx, d.RunAs)
		if err != nil || !u.Active {
			return &InvalidError{Problems: []Problem{{Field: "run_as_user_id", Message: fmt.Sprintf("no active user %d", d.RunAs)}}}
		}
	}
	b, err := json.Marshal(sealed)
	if err != nil {
		return fmt.Errorf("automation: encode bundle: %w", err)
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error { return write(ctx, tx, string(b), c) })
}

func insertVersion(ctx context.Context, tx *sql.Tx, id int64, version int, def string, user, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO automation_bundle_versions (bundle_id, version, definition, created_by_id, created_at)
		VALUES ($1, $2, $3, $4, $5)`, id, version, def, user, now)
	if err != nil {
		return fmt.Errorf("automation: bundle %d: save version %d: %w", id, version, err)
	}
	return nil
}

// storedDefinition is the bundle's current definition as stored (secrets
// sealed) and its version.
func (s *Service) storedDefinition(ctx context.Context, id int64) (Definition, int, error) {
	var def string
	var v int
	var d Definition
	err := s.db.Read.QueryRowContext(ctx, "SELECT definition, version FROM automation_bundles WHERE id = $1", id).Scan(&def, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return d, 0, store.NotFound("bundle", id)
	}
	if err != nil {
		return d, 0, fmt.Errorf("automation: bundle %d: %w", id, err)
	}
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return d, 0, fmt.Errorf("automation: bundle %d: decode definition: %w", id, err)
	}
	return d, v, nil
}

// Version returns one saved version of a bundle (secrets masked).
func (s *Service) Version(ctx context.Context, id int64, version int) (Definition, error) {
	var def string
	var d Definition
	err := s.db.Read.QueryRowContext(ctx, "SELECT definition FROM automation_bundle_versions WHERE bundle_id = $1 AND version = $2", id, version).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.NotFound("bundle version", fmt.Sprintf("%d/%d", id, version))
	}
	if err != nil {
		return d, fmt.Errorf("automation: bundle %d version %d: %w", id, version, err)
	}
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return d, fmt.Errorf("automation: bundle %d version %d: %w", id, version, err)
	}
	return s.maskSecrets(d), nil
}

// compiledVersion is a version compiled for running, secrets open;
// versions never change, so they are cached.
func (s *Service) compiledVersion(ctx context.Context, id int64, version int) (*Compiled, error) {
	key := versionKey{id, version}
	if c, ok := s.compiled.Load(key); ok {
		return c.(*Compiled), nil
	}
	var def string
	err := s.db.Reader().QueryRowContext(ctx, "SELECT definition FROM automation_bundle_versions WHERE bundle_id = $1 AND version = $2", id, version).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.NotFound("bundle version", fmt.Sprintf("%d/%d", id, version))
	}
	if err != nil {
		return nil, fmt.Errorf("automation: bundle %d version %d: %w", id, version, err)
	}
	var d Definition
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return nil, fmt.Errorf("automation: bundle %d version %d: %w", id, version, err)
	}
	open, err := s.openSecrets(d)
	if err != nil {
		return nil, err
	}
	c, err := s.reg.Compile(open)
	if err != nil {
		// An action that was removed since, a connector switched off.
		return nil, fmt.Errorf("automation: bundle %d version %d no longer compiles: %w", id, version, err)
	}
	s.compiled.Store(key, c)
	return c, nil
}

type versionKey struct {
	id      int64
	version int
}

// Delete removes a bundle with its versions and runs.
func (s *Service) Delete(ctx context.Context, actor crm.Actor, id int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Steps and runs first: SQLite deletes by cascade only with
		// foreign keys on, and a large journal is better removed in
		// plain statements anyway.
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_run_steps WHERE run_id IN (SELECT id FROM automation_runs WHERE bundle_id = $1)", id); err != nil {
			return fmt.Errorf("automation: delete bundle %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_runs WHERE bundle_id = $1", id); err != nil {
			return fmt.Errorf("automation: delete bundle %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_bundle_versions WHERE bundle_id = $1", id); err != nil {
			return fmt.Errorf("automation: delete bundle %d: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM automation_bundles WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("automation: delete bundle %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("bundle", id)
		}
		return nil
	})
}

// SetActive switches a bundle on or off without a new version. Switched
// on, a change-event bundle reacts to changes from now on; switched off,
// its queued runs are cancelled when they come up.
func (s *Service) SetActive(ctx context.Context, actor crm.Actor, id int64, active bool) (Bundle, error) {
	d, _, err := s.storedDefinition(ctx, id)
	if err != nil {
		return Bundle{}, err
	}
	if d.Active == active {
		return s.Get(ctx, id)
	}
	d.Active = active
	c, err := s.reg.Compile(d)
	if err != nil {
		return Bundle{}, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return Bundle{}, fmt.Errorf("automation: encode bundle: %w", err)
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cursor, err := s.logEnd(ctx, tx)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE automation_bundles SET active = $2, definition = $3, cursor = CASE WHEN $2 THEN $4 ELSE cursor END,
			next_fire_at = $5, updated_by_id = $6, updated_at = $7 WHERE id = $1`,
			id, active, string(b), cursor, s.nextFire(c, time.Time{}), actor.UserID, s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("automation: bundle %d: switch: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("bundle", id)
		}
		return nil
	})
	if err != nil {
		return Bundle{}, err
	}
	s.pokeSchedules()
	return s.Get(ctx, id)
}

// Copy makes an inactive copy of a bundle, named "… (копия)".
func (s *Service) Copy(ctx context.Context, actor crm.Actor, id int64) (Bundle, error) {
	d, _, err := s.storedDefinition(ctx, id)
	if err != nil {
		return Bundle{}, err
	}
	d.Name += " (копия)"
	d.Active = false
	return s.Create(ctx, actor, d)
}

// RotateHook gives a webhook bundle a new secret URL; the old one stops
// working at once.
func (s *Service) RotateHook(ctx context.Context, actor crm.Actor, id int64) (Bundle, error) {
	hash, sealed, err := s.hookToken(TriggerWebhook)
	if err != nil {
		return Bundle{}, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE automation_bundles SET hook_hash = $2, hook_token = $3, updated_by_id = $4, updated_at = $5
			WHERE id = $1 AND trigger_type = 'webhook'`, id, hash, sealed, actor.UserID, s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("automation: bundle %d: new webhook URL: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("webhook bundle", id)
		}
		return nil
	})
	if err != nil {
		return Bundle{}, err
	}
	return s.Get(ctx, id)
}

// Export returns the definitions of the bundles (every one when ids is
// empty), secrets left out.
func (s *Service) Export(ctx context.Context, ids []int64) ([]Definition, error) {
	var out []Definition
	if len(ids) == 0 {
		rows, err := s.db.Read.QueryContext(ctx, "SELECT id FROM automation_bundles ORDER BY id")
		if err != nil {
			return nil, fmt.Errorf("automation: export: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("automation: export: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("automation: export: %w", err)
		}
	}
	for _, id := range ids {
		b, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s.exportable(b.Definition))
	}
	return out, nil
}

// Import creates a bundle of each definition, all or none: a refused one
// names its place in the list.
func (s *Service) Import(ctx context.Context, actor crm.Actor, defs []Definition) ([]Bundle, error) {
	for i, d := range defs {
		if err := s.Validate(s.clearMasked(d)); err != nil {
			var inv *InvalidError
			if errors.As(err, &inv) {
				for j := range inv.Problems {
					inv.Problems[j].Field = "bundles[" + strconv.Itoa(i) + "]." + inv.Problems[j].Field
				}
			}
			return nil, err
		}
	}
	var out []Bundle
	for _, d := range defs {
		b, err := s.Create(ctx, actor, s.clearMasked(d))
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
	return out, nil
}

// logEnd is the id of the newest change event.
func (s *Service) logEnd(ctx context.Context, tx *sql.Tx) (int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&last); err != nil {
		return 0, fmt.Errorf("automation: read the log's end: %w", err)
	}
	return last, nil
}

// hookToken makes a webhook bundle's secret: its hash (looked up) and the
// token sealed (shown to admins). Other triggers get none.
func (s *Service) hookToken(triggerType string) (any, string, error) {
	if triggerType != TriggerWebhook {
		return nil, "", nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("automation: webhook token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	sealed, err := s.box.Seal(token)
	if err != nil {
		return nil, "", fmt.Errorf("automation: webhook token: %w", err)
	}
	return hashToken(token), sealed, nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// nextFire is a schedule's next time after from (now when zero), as unix
// µs; 0 for other triggers and inactive bundles.
func (s *Service) nextFire(c *Compiled, from time.Time) int64 {
	if c.Def.Trigger.Type != TriggerSchedule || !c.Def.Active || c.Schedule == nil {
		return 0
	}
	if from.IsZero() {
		from = s.now()
	}
	return c.Schedule.Next(from.In(c.Location)).UnixMicro()
}

// forUpdate locks the selected row on PostgreSQL; SQLite's single writer
// needs no lock.
func (s *Service) forUpdate() string {
	if s.db.Dialect == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
