package connection

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

// Connection is a saved connection. Settings hold Mask in place of each
// secret that is set, except where Open returned it.
type Connection struct {
	ID           int64          `json:"id"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Settings     map[string]any `json:"settings"`
	Dictionaries map[string]any `json:"dictionaries,omitempty"`
	RefreshedAt  *time.Time     `json:"refreshed_at,omitempty"`
	// HookAt is when the connection's hook URL was made (nil: it has
	// none); the URL itself is shown once, when made.
	HookAt *time.Time `json:"hook_at,omitempty"`
	// Broken says the remote side refuses the connection (a deleted
	// webhook, a refused token): since when and in its words; nil while
	// it works.
	Broken    *Broken   `json:"broken,omitempty"`
	CreatedBy int64     `json:"created_by_id"`
	UpdatedBy int64     `json:"updated_by_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Store keeps connections.
type Store struct {
	db  *db.DB
	box *secret.Box
	reg *Registry
	now func() time.Time
	// base is how others reach this server (hook URLs).
	base string
}

// NewStore returns the store of connections whose types reg knows; box
// seals their secrets.
func NewStore(d *db.DB, box *secret.Box, reg *Registry) *Store {
	return &Store{db: d, box: box, reg: reg, now: time.Now}
}

// Registry is the registry of types the store validates against.
func (s *Store) Registry() *Registry { return s.reg }

const columns = `id, type, name, settings, dictionaries, refreshed_at, created_by_id, updated_by_id, created_at, updated_at, hook_at, broken_at, broken_reason`

type scanner interface{ Scan(dest ...any) error }

// scan reads a row with its settings as stored (secrets sealed).
func scan(row scanner) (Connection, error) {
	var c Connection
	var settings, dicts string
	var refreshed, created, updated, hook, broken int64
	var reason string
	if err := row.Scan(&c.ID, &c.Type, &c.Name, &settings, &dicts, &refreshed, &c.CreatedBy, &c.UpdatedBy, &created, &updated, &hook, &broken, &reason); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(settings), &c.Settings); err != nil {
		return c, fmt.Errorf("connection %d: decode settings: %w", c.ID, err)
	}
	if dicts != "" {
		if err := json.Unmarshal([]byte(dicts), &c.Dictionaries); err != nil {
			return c, fmt.Errorf("connection %d: decode dictionaries: %w", c.ID, err)
		}
	}
	if refreshed > 0 {
		t := time.UnixMicro(refreshed).UTC()
		c.RefreshedAt = &t
	}
	if hook > 0 {
		t := time.UnixMicro(hook).UTC()
		c.HookAt = &t
	}
	if broken > 0 {
		c.Broken = &Broken{At: time.UnixMicro(broken).UTC(), Reason: reason}
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	c.Settings = intsOf(c.Settings)
	return c, nil
}

// intsOf turns the float64 JSON gives integers back into int64.
func intsOf(m map[string]any) map[string]any {
	for k, v := range m {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			m[k] = int64(f)
		}
	}
	return m
}

// masked returns c with each secret set replaced by Mask.
func (s *Store) masked(c Connection) Connection {
	t, ok := s.reg.Type(c.Type)
	if !ok {
		return c
	}
	out := make(map[string]any, len(c.Settings))
	for k, v := range c.Settings {
		out[k] = v
	}
	for _, f := range t.Fields {
		if !f.Secret {
			continue
		}
		if v, _ := out[f.Name].(string); v != "" {
			out[f.Name] = Mask
		}
	}
	c.Settings = out
	return c
}

// opened returns the settings of c with the secrets unsealed.
func (s *Store) opened(c Connection) (Settings, error) {
	t, ok := s.reg.Type(c.Type)
	if !ok {
		return nil, fmt.Errorf("connection %d: unknown type %q", c.ID, c.Type)
	}
	out := make(Settings, len(c.Settings))
	for k, v := range c.Settings {
		out[k] = v
	}
	for _, f := range t.Fields {
		v, _ := out[f.Name].(string)
		if !f.Secret || v == "" {
			continue
		}
		plain, err := s.box.Open(v)
		if err != nil {
			return nil, fmt.Errorf("connection %d: open secret %s: %w", c.ID, f.Name, err)
		}
		out[f.Name] = plain
	}
	return out, nil
}

// sealed returns settings with the secrets sealed.
func (s *Store) sealed(t Type, settings Settings) (string, error) {
	out := make(map[string]any, len(settings))
	for k, v := range settings {
		out[k] = v
	}
	for _, f := range t.Fields {
		v, _ := out[f.Name].(string)
		if !f.Secret || v == "" {
			continue
		}
		sv, err := s.box.Seal(v)
		if err != nil {
			return "", fmt.Errorf("connection: seal %s: %w", f.Name, err)
		}
		out[f.Name] = sv
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("connection: encode settings: %w", err)
	}
	return string(b), nil
}

func (s *Store) get(ctx context.Context, id int64) (Connection, error) {
	c, err := scan(s.db.Read.QueryRowContext(ctx, "SELECT "+columns+" FROM connections WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.NotFound("connection", id)
	}
	if err != nil {
		return c, fmt.Errorf("connection: get %d: %w", id, err)
	}
	return c, nil
}

// Get returns a connection, its secrets masked.
func (s *Store) Get(ctx context.Context, id int64) (Connection, error) {
	c, err := s.get(ctx, id)
	if err != nil {
		return c, err
	}
	return s.masked(c), nil
}

// Open returns a connection with its settings open, for a connector's
// action; it is never shown.
func (s *Store) Open(ctx context.Context, id int64) (Connection, Settings, error) {
	c, err := s.get(ctx, id)
	if err != nil {
		return c, nil, err
	}
	set, err := s.opened(c)
	return s.masked(c), set, err
}

// OpenByName is Open by the connection's name.
func (s *Store) OpenByName(ctx context.Context, name string) (Connection, Settings, error) {
	c, err := scan(s.db.Read.QueryRowContext(ctx, "SELECT "+columns+" FROM connections WHERE name = $1", strings.TrimSpace(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil, store.NotFound("connection", fmt.Sprintf("%q", name))
	}
	if err != nil {
		return c, nil, fmt.Errorf("connection: get %q: %w", name, err)
	}
	set, err := s.opened(c)
	return s.masked(c), set, err
}

// TypeOf returns the type of connection id: the automation validator's
// question.
func (s *Store) TypeOf(ctx context.Context, id int64) (string, error) {
	var t string
	err := s.db.Read.QueryRowContext(ctx, "SELECT type FROM connections WHERE id = $1", id).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.NotFound("connection", id)
	}
	if err != nil {
		return "", fmt.Errorf("connection: type of %d: %w", id, err)
	}
	return t, nil
}

// List returns every connection (of typ, when given), by name, secrets
// masked.
func (s *Store) List(ctx context.Context, typ string) ([]Connection, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+columns+" FROM connections WHERE $1 = '' OR type = $1 ORDER BY name, id", typ)
	if err != nil {
		return nil, fmt.Errorf("connection: list: %w", err)
	}
	defer rows.Close()
	out := []Connection{}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("connection: list: %w", err)
		}
		out = append(out, s.masked(c))
	}
	return out, rows.Err()
}

// Link is a connection whose remote records Obmen's records link to by
// external id (Type.System).
type Link struct {
	Connection Connection
	System     string
}

// Links lists the connections whose type links records, by name.
func (s *Store) Links(ctx context.Context) ([]Link, error) {
	list, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, c := range list {
		t, ok := s.reg.Type(c.Type)
		if !ok || t.System == nil {
			continue
		}
		if sys := t.System(Settings(c.Settings)); sys != "" {
			out = append(out, Link{Connection: c, System: sys})
		}
	}
	return out, nil
}

// prepare validates in for a new connection or, with prev, for a change
// of prev (whose type it keeps).
func (s *Store) prepare(in Input, prev *Connection) (Type, string, string, error) {
	var ps []Problem
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		ps = append(ps, Problem{Field: "name", Message: "required"})
	case utf8.RuneCountInString(name) > MaxName:
		ps = append(ps, Problem{Field: "name", Message: fmt.Sprintf("longer than %d characters", MaxName)})
	}
	typ := strings.TrimSpace(in.Type)
	if prev != nil {
		if typ != "" && typ != prev.Type {
			ps = append(ps, Problem{Field: "type", Message: fmt.Sprintf("a %s connection cannot become %s: make a new one", prev.Type, typ)})
		}
		typ = prev.Type
	}
	t, ok := s.reg.Type(typ)
	switch {
	case typ == "":
		ps = append(ps, Problem{Field: "type", Message: "required"})
	case !ok:
		ps = append(ps, Problem{Field: "type", Message: fmt.Sprintf("unknown connection type %q", typ)})
	}
	if !ok {
		return t, "", "", &InvalidError{Problems: ps}
	}
	var old Settings
	if prev != nil {
		var err error
		if old, err = s.opened(*prev); err != nil {
			return t, "", "", err
		}
	}
	settings, more := normalize(t, in.Settings, old)
	ps = append(ps, more...)
	if len(ps) > 0 {
		return t, "", "", &InvalidError{Problems: ps}
	}
	enc, err := s.sealed(t, settings)
	return t, name, enc, err
}

func nameTaken(name string) error {
	return &InvalidError{Problems: []Problem{{Field: "name", Message: fmt.Sprintf("a connection named %q already exists", name)}}}
}

// Create saves a new connection made by user.
func (s *Store) Create(ctx context.Context, user int64, in Input) (Connection, error) {
	t, name, enc, err := s.prepare(in, nil)
	if err != nil {
		return Connection{}, err
	}
	now := s.now().UnixMicro()
	var id int64
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO connections (type, name, settings, created_by_id, updated_by_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4, $5, $5) RETURNING id`, t.Name, name, enc, user, now).Scan(&id)
	})
	if db.IsUniqueViolation(err) {
		return Connection{}, nameTaken(name)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("connection: create %q: %w", name, err)
	}
	return s.Get(ctx, id)
}

// Update changes a connection's name and settings; secrets left out or
// sent as Mask keep their stored values. The type cannot change.
func (s *Store) Update(ctx context.Context, user, id int64, in Input) (Connection, error) {
	prev, err := s.get(ctx, id)
	if err != nil {
		return prev, err
	}
	_, name, enc, err := s.prepare(in, &prev)
	if err != nil {
		return Connection{}, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET name = $1, settings = $2, updated_by_id = $3, updated_at = $4 WHERE id = $5`,
			name, enc, user, s.now().UnixMicro(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("connection", id)
		}
		return nil
	})
	if db.IsUniqueViolation(err) {
		return Connection{}, nameTaken(name)
	}
	if err != nil {
		return Connection{}, fmt.Errorf("connection: update %d: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Delete removes a connection. Whether bundles still use it is the
// caller's question (the API refuses then unless forced).
func (s *Store) Delete(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM connections WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("connection: delete %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.NotFound("connection", id)
		}
		return nil
	})
}

// Check runs the type's check on a saved connection and answers in lang.
func (s *Store) Check(ctx context.Context, id int64, lang string) (CheckResult, error) {
	c, set, err := s.Open(ctx, id)
	if err != nil {
		return CheckResult{}, err
	}
	t, _ := s.reg.Type(c.Type)
	cerr := t.Check(ctx, set)
	res := s.reg.result(lang, cerr)
	// A check is the user's way to see whether a broken connection
	// works again: it clears the mark or sets it.
	switch {
	case cerr == nil:
		err = s.MarkWorking(ctx, id)
	case t.Breaks(res.Class):
		err = s.MarkBroken(ctx, id, res.Detail)
	}
	return res, err
}

// CheckInput checks settings not yet saved (the form's "check" before
// "save"); with id, secrets left out are taken from that connection.
func (s *Store) CheckInput(ctx context.Context, id int64, in Input, lang string) (CheckResult, error) {
	var prev *Connection
	if id != 0 {
		p, err := s.get(ctx, id)
		if err != nil {
			return CheckResult{}, err
		}
		prev = &p
	}
	if in.Name == "" {
		in.Name = "check"
	}
	t, _, enc, err := s.prepare(in, prev)
	if err != nil {
		return CheckResult{}, err
	}
	set, err := s.opened(Connection{Type: t.Name, Settings: decodeSettings(enc)})
	if err != nil {
		return CheckResult{}, err
	}
	return s.reg.result(lang, t.Check(ctx, set)), nil
}

func decodeSettings(enc string) map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(enc), &m)
	return intsOf(m)
}

// Refresh loads the remote dictionaries of a connection whose type has
// them and stores them with it. A failure is answered like a check's.
func (s *Store) Refresh(ctx context.Context, id int64, lang string) (Connection, *CheckResult, error) {
	c, set, err := s.Open(ctx, id)
	if err != nil {
		return c, nil, err
	}
	t, _ := s.reg.Type(c.Type)
	if t.Refresh == nil {
		return c, nil, &InvalidError{Problems: []Problem{{Field: "type", Message: fmt.Sprintf("a %s connection has no dictionaries to refresh", c.Type)}}}
	}
	dicts, rerr := t.Refresh(ctx, set)
	if rerr != nil {
		res := s.reg.result(lang, rerr)
		return c, &res, nil
	}
	b, err := json.Marshal(dicts)
	if err != nil {
		return c, nil, fmt.Errorf("connection: encode dictionaries of %d: %w", id, err)
	}
	now := s.now().UnixMicro()
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE connections SET dictionaries = $1, refreshed_at = $2 WHERE id = $3", string(b), now, id)
		return err
	})
	if err != nil {
		return c, nil, fmt.Errorf("connection: store dictionaries of %d: %w", id, err)
	}
	c, err = s.Get(ctx, id)
	return c, nil, err
}
