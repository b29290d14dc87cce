package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
)

// Dictionaries: currencies, units, pipelines, statuses and settings. Their
// writes go through Write like any other but emit no change events.

// ListCurrencies returns all currencies, in their sort order.
func (s *Store) ListCurrencies(ctx context.Context) ([]crm.Currency, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT code, name, active, base, rate, sort FROM currencies ORDER BY sort, code")
	if err != nil {
		return nil, fmt.Errorf("store: list currencies: %w", err)
	}
	defer rows.Close()
	out := []crm.Currency{}
	for rows.Next() {
		var c crm.Currency
		var rate int64
		if err := rows.Scan(&c.Code, &c.Name, &c.Active, &c.Base, &rate, &c.Sort); err != nil {
			return nil, fmt.Errorf("store: list currencies: %w", err)
		}
		c.Rate = crm.FormatRate(rate)
		out = append(out, c)
	}
	return out, rows.Err()
}

func getCurrency(t txq, code string) (crm.Currency, error) {
	var c crm.Currency
	var rate int64
	err := t.q.QueryRowContext(t.ctx, "SELECT code, name, active, base, rate, sort FROM currencies WHERE code = $1", code).
		Scan(&c.Code, &c.Name, &c.Active, &c.Base, &rate, &c.Sort)
	if errors.Is(err, sql.ErrNoRows) {
		return c, NotFound("currency", code)
	}
	if err != nil {
		return c, fmt.Errorf("store: currency %s: %w", code, err)
	}
	c.Rate = crm.FormatRate(rate)
	return c, nil
}

// GetCurrency returns a currency by its code (aliases such as RUR are
// accepted).
func (s *Store) GetCurrency(ctx context.Context, code string) (crm.Currency, error) {
	iso, err := resolveCurrency(s.rq(ctx), code)
	if err != nil {
		return crm.Currency{}, err
	}
	return getCurrency(s.rq(ctx), iso)
}

// UpsertCurrency creates or replaces a currency. Making it the base one
// takes that role from the previous base currency; the base currency
// itself cannot give it up, another one has to take it.
func (s *Store) UpsertCurrency(ctx context.Context, actor crm.Actor, c crm.Currency) (crm.Currency, error) {
	iso, err := resolveCurrency(s.rq(ctx), c.Code)
	if err != nil {
		return c, err
	}
	c.Code = iso
	if err := c.Normalize(); err != nil {
		return c, err
	}
	rate, _ := crm.ParseRate(c.Rate)
	err = s.Write(ctx, actor, func(t *Tx) error {
		old, err := getCurrency(t.rq(), c.Code)
		switch {
		case err == nil:
			if old.Base && !c.Base {
				return crm.Invalid("base", "%s is the base currency; make another currency the base instead", c.Code)
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if c.Base {
			if _, err := t.tx.ExecContext(t.ctx, "UPDATE currencies SET base = FALSE WHERE base = TRUE AND code <> $1", c.Code); err != nil {
				return fmt.Errorf("store: currency %s: %w", c.Code, err)
			}
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO currencies (code, name, active, base, rate, sort) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, active = excluded.active, base = excluded.base,
			rate = excluded.rate, sort = excluded.sort`,
			c.Code, c.Name, c.Active, c.Base, rate, c.Sort); err != nil {
			return fmt.Errorf("store: upsert currency %s: %w", c.Code, err)
		}
		return nil
	})
	return c, err
}

// ListUnits returns all units of measure by id.
func (s *Store) ListUnits(ctx context.Context) ([]crm.Unit, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, name, title, okei FROM units ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: list units: %w", err)
	}
	defer rows.Close()
	out := []crm.Unit{}
	for rows.Next() {
		var u crm.Unit
		if err := rows.Scan(&u.ID, &u.Name, &u.Title, &u.OKEI); err != nil {
			return nil, fmt.Errorf("store: list units: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func unitByName(t txq, name string) (crm.Unit, error) {
	var u crm.Unit
	err := t.q.QueryRowContext(t.ctx, "SELECT id, name, title, okei FROM units WHERE name = $1", name).Scan(&u.ID, &u.Name, &u.Title, &u.OKEI)
	if errors.Is(err, sql.ErrNoRows) {
		return u, NotFound("unit", name)
	}
	if err != nil {
		return u, fmt.Errorf("store: unit %q: %w", name, err)
	}
	return u, nil
}

// EnsureUnit returns the unit with exactly this name, creating it when
// missing. Names are kept as sent ("шт", "упак"): documents from 1C and
// web forms bring their own.
func (s *Store) EnsureUnit(ctx context.Context, actor crm.Actor, name string) (crm.Unit, error) {
	u := crm.Unit{Name: name}
	if err := u.Normalize(); err != nil {
		return u, err
	}
	if got, err := unitByName(s.rq(ctx), u.Name); !errors.Is(err, ErrNotFound) {
		return got, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		// Another writer may have added it since the read above.
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO units (name, title, okei) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
			u.Name, u.Title, u.OKEI); err != nil {
			return fmt.Errorf("store: ensure unit %q: %w", u.Name, err)
		}
		got, err := unitByName(t.rq(), u.Name)
		u = got
		return err
	})
	return u, err
}

// CreateUnit adds a unit of measure; its name must be new.
func (s *Store) CreateUnit(ctx context.Context, actor crm.Actor, u crm.Unit) (crm.Unit, error) {
	if err := u.Normalize(); err != nil {
		return u, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		err := t.tx.QueryRowContext(t.ctx, "INSERT INTO units (name, title, okei) VALUES ($1, $2, $3) RETURNING id", u.Name, u.Title, u.OKEI).Scan(&u.ID)
		if db.IsUniqueViolation(err) {
			return crm.Invalid("name", "unit %q already exists", u.Name)
		}
		if err != nil {
			return fmt.Errorf("store: create unit %q: %w", u.Name, err)
		}
		return nil
	})
	return u, err
}

// DeleteUnit removes a unit of measure. Products and rows that use it keep
// its name: they store the name, not the id.
func (s *Store) DeleteUnit(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM units WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("store: delete unit %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("unit", id)
		}
		return nil
	})
}

// ListPipelines returns the deal pipelines in their sort order.
func (s *Store) ListPipelines(ctx context.Context) ([]crm.Pipeline, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, name, sort, is_default FROM pipelines ORDER BY sort, id")
	if err != nil {
		return nil, fmt.Errorf("store: list pipelines: %w", err)
	}
	defer rows.Close()
	out := []crm.Pipeline{}
	for rows.Next() {
		var p crm.Pipeline
		if err := rows.Scan(&p.ID, &p.Name, &p.Sort, &p.IsDefault); err != nil {
			return nil, fmt.Errorf("store: list pipelines: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetPipeline returns a pipeline by id.
func (s *Store) GetPipeline(ctx context.Context, id int64) (crm.Pipeline, error) {
	var p crm.Pipeline
	err := s.db.Read.QueryRowContext(ctx, "SELECT id, name, sort, is_default FROM pipelines WHERE id = $1", id).Scan(&p.ID, &p.Name, &p.Sort, &p.IsDefault)
	if errors.Is(err, sql.ErrNoRows) {
		return p, NotFound("pipeline", id)
	}
	if err != nil {
		return p, fmt.Errorf("store: pipeline %d: %w", id, err)
	}
	return p, nil
}

// CreatePipeline adds a pipeline with the id after the largest one, and
// its default stages: Cn:NEW, Cn:WON (success) and Cn:LOSE (failure).
// Pipeline 0 is the only default one, as in Bitrix24.
func (s *Store) CreatePipeline(ctx context.Context, actor crm.Actor, p crm.Pipeline) (crm.Pipeline, error) {
	if err := p.Normalize(); err != nil {
		return p, err
	}
	p.IsDefault = false
	var err error
	// Two concurrent creates on PostgreSQL may pick the same id; the
	// loser's insert fails on the primary key and is retried.
	for attempt := 0; attempt < 3; attempt++ {
		err = s.Write(ctx, actor, func(t *Tx) error {
			if err := t.tx.QueryRowContext(t.ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM pipelines").Scan(&p.ID); err != nil {
				return fmt.Errorf("store: create pipeline: %w", err)
			}
			if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO pipelines (id, name, sort, is_default) VALUES ($1, $2, $3, FALSE)", p.ID, p.Name, p.Sort); err != nil {
				if db.IsUniqueViolation(err) {
					return fmt.Errorf("store: create pipeline %d: %w", p.ID, ErrConflict)
				}
				return fmt.Errorf("store: create pipeline: %w", err)
			}
			entity := crm.StageEntityID(p.ID)
			prefix := "C" + strconv.FormatInt(p.ID, 10) + ":"
			for _, st := range []struct {
				code, name, sem string
				sort            int
			}{
				{"NEW", "Новая", "", 10},
				{"WON", "Сделка успешна", crm.SemanticsSuccess, 20},
				{"LOSE", "Сделка провалена", crm.SemanticsFailure, 30},
			} {
				if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system)
					VALUES ($1, $2, $3, $4, $5, $6, TRUE)`, entity, prefix+st.code, st.name, st.sort, st.sem, p.ID); err != nil {
					return fmt.Errorf("store: pipeline %d: stage %s: %w", p.ID, st.code, err)
				}
			}
			return nil
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	return p, err
}

// UpdatePipeline renames and re-sorts pipeline p.ID.
func (s *Store) UpdatePipeline(ctx context.Context, actor crm.Actor, p crm.Pipeline) (crm.Pipeline, error) {
	if err := p.Normalize(); err != nil {
		return p, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		err := t.tx.QueryRowContext(t.ctx, "UPDATE pipelines SET name = $1, sort = $2 WHERE id = $3 RETURNING is_default", p.Name, p.Sort, p.ID).Scan(&p.IsDefault)
		if errors.Is(err, sql.ErrNoRows) {
			return NotFound("pipeline", p.ID)
		}
		if err != nil {
			return fmt.Errorf("store: update pipeline %d: %w", p.ID, err)
		}
		return nil
	})
	return p, err
}

// DeletePipeline removes a pipeline and its stages. The default pipeline
// (0) and pipelines that hold deals, even deals in the recycle bin, stay.
func (s *Store) DeletePipeline(ctx context.Context, actor crm.Actor, id int64) error {
	if id == 0 {
		return crm.Invalid("id", "the default pipeline cannot be deleted")
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		var n int64
		if err := t.tx.QueryRowContext(t.ctx, "SELECT COUNT(*) FROM deals WHERE category_id = $1", id).Scan(&n); err != nil {
			return fmt.Errorf("store: delete pipeline %d: %w", id, err)
		}
		if n > 0 {
			return crm.Invalid("id", "pipeline %d holds %d deals (counting the recycle bin); move them first", id, n)
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM statuses WHERE entity_id = $1", crm.StageEntityID(id)); err != nil {
			return fmt.Errorf("store: delete pipeline %d stages: %w", id, err)
		}
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM pipelines WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("store: delete pipeline %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("pipeline", id)
		}
		return nil
	})
}

const statusColumns = "id, entity_id, status_id, name, sort, semantics, pipeline_id, system, color"

func scanStatus(sc interface{ Scan(...any) error }) (crm.Status, error) {
	var st crm.Status
	var pipeline sql.NullInt64
	if err := sc.Scan(&st.ID, &st.EntityID, &st.StatusID, &st.Name, &st.Sort, &st.Semantics, &pipeline, &st.System, &st.Color); err != nil {
		return st, err
	}
	if pipeline.Valid {
		st.PipelineID = &pipeline.Int64
	}
	return st, nil
}

// ListStatuses returns the entries of one status dictionary (STATUS,
// SOURCE, DEAL_STAGE_1 …), or of all when entityID is "".
func (s *Store) ListStatuses(ctx context.Context, entityID string) ([]crm.Status, error) {
	q := "SELECT " + statusColumns + " FROM statuses"
	var args []any
	if entityID != "" {
		q += " WHERE entity_id = $1"
		args = append(args, entityID)
	}
	rows, err := s.db.Read.QueryContext(ctx, q+" ORDER BY entity_id, sort, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: list statuses: %w", err)
	}
	defer rows.Close()
	out := []crm.Status{}
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list statuses: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func getStatus(t txq, id int64) (crm.Status, error) {
	st, err := scanStatus(t.q.QueryRowContext(t.ctx, "SELECT "+statusColumns+" FROM statuses WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return st, NotFound("status", id)
	}
	if err != nil {
		return st, fmt.Errorf("store: status %d: %w", id, err)
	}
	return st, nil
}

// GetStatus returns a status entry by id.
func (s *Store) GetStatus(ctx context.Context, id int64) (crm.Status, error) {
	return getStatus(s.rq(ctx), id)
}

// stagePipeline returns the pipeline whose stages entityID holds, and
// whether it is a stage dictionary at all.
func stagePipeline(entityID string) (int64, bool) {
	if entityID == "DEAL_STAGE" {
		return 0, true
	}
	n, ok := strings.CutPrefix(entityID, "DEAL_STAGE_")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != n {
		return 0, false
	}
	return id, true
}

// CreateStatus adds an entry to a status dictionary. A stage of pipeline
// n gets the "Cn:" prefix Bitrix24 gives its ids when it lacks one.
func (s *Store) CreateStatus(ctx context.Context, actor crm.Actor, st crm.Status) (crm.Status, error) {
	if err := st.Normalize(); err != nil {
		return st, err
	}
	st.System, st.PipelineID = false, nil
	if strings.HasPrefix(st.EntityID, "DEAL_STAGE") {
		pid, ok := stagePipeline(st.EntityID)
		if !ok {
			return st, crm.Invalid("entity_id", "%q is not DEAL_STAGE or DEAL_STAGE_<pipeline id>", st.EntityID)
		}
		if pid != 0 {
			if prefix := "C" + strconv.FormatInt(pid, 10) + ":"; !strings.HasPrefix(st.StatusID, prefix) {
				st.StatusID = prefix + st.StatusID
			}
		}
		st.PipelineID = &pid
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		if st.PipelineID != nil {
			r := refs{t: t.rq()}
			r.check(r.exists("entity_id", "SELECT 1 FROM pipelines WHERE id = $1", *st.PipelineID), "entity_id", "no pipeline with id %d", *st.PipelineID)
			if r.err != nil {
				return r.err
			}
		}
		var pipeline any
		if st.PipelineID != nil {
			pipeline = *st.PipelineID
		}
		err := t.tx.QueryRowContext(t.ctx, `INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system, color)
			VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7) RETURNING id`,
			st.EntityID, st.StatusID, st.Name, st.Sort, st.Semantics, pipeline, st.Color).Scan(&st.ID)
		if db.IsUniqueViolation(err) {
			return crm.Invalid("status_id", "%s already has %q", st.EntityID, st.StatusID)
		}
		if err != nil {
			return fmt.Errorf("store: create status %s/%s: %w", st.EntityID, st.StatusID, err)
		}
		return nil
	})
	return st, err
}

// UpdateStatus changes the name, sort, semantics and colour of entry st.ID; its
// dictionary and code stay. The semantics of a system entry, or of one
// that records use, cannot change: deals' closed and won flags and lead
// conversion depend on them.
func (s *Store) UpdateStatus(ctx context.Context, actor crm.Actor, st crm.Status) (crm.Status, error) {
	var out crm.Status
	err := s.Write(ctx, actor, func(t *Tx) error {
		old, err := getStatus(t.rq(), st.ID)
		if err != nil {
			return err
		}
		cur := old
		cur.Name, cur.Sort, cur.Semantics, cur.Color = st.Name, st.Sort, st.Semantics, st.Color
		if err := cur.Normalize(); err != nil {
			return err
		}
		if cur.Semantics != old.Semantics {
			if old.System {
				return crm.Invalid("semantics", "%s/%s is a system entry; its semantics are fixed", old.EntityID, old.StatusID)
			}
			if err := statusInUse(t.rq(), "semantics", old); err != nil {
				return err
			}
		}
		if _, err := t.tx.ExecContext(t.ctx, "UPDATE statuses SET name = $1, sort = $2, semantics = $3, color = $4 WHERE id = $5",
			cur.Name, cur.Sort, cur.Semantics, cur.Color, cur.ID); err != nil {
			return fmt.Errorf("store: update status %d: %w", cur.ID, err)
		}
		out = cur
		return nil
	})
	return out, err
}

// DeleteStatus removes a dictionary entry that is neither a system one nor
// used by any record (in the recycle bin too).
func (s *Store) DeleteStatus(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		st, err := getStatus(t.rq(), id)
		if err != nil {
			return err
		}
		if st.System {
			return crm.Invalid("status_id", "%s/%s is a system entry and cannot be deleted", st.EntityID, st.StatusID)
		}
		if err := statusInUse(t.rq(), "status_id", st); err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM statuses WHERE id = $1", id); err != nil {
			return fmt.Errorf("store: delete status %d: %w", id, err)
		}
		return nil
	})
}

// statusInUse returns a FieldError on field when any record, live or in
// the recycle bin, uses the entry.
func statusInUse(t txq, field string, st crm.Status) error {
	type use struct{ what, query string }
	var uses []use
	var args []any
	if pid, ok := stagePipeline(st.EntityID); ok {
		uses = []use{{"deals", "SELECT COUNT(*) FROM deals WHERE category_id = $1 AND stage_id = $2"}}
		args = []any{pid, st.StatusID}
	} else {
		args = []any{st.StatusID}
		switch st.EntityID {
		case "STATUS":
			uses = []use{{"leads", "SELECT COUNT(*) FROM leads WHERE status_id = $1"}}
		case "SOURCE":
			uses = []use{
				{"leads", "SELECT COUNT(*) FROM leads WHERE source_id = $1"},
				{"deals", "SELECT COUNT(*) FROM deals WHERE source_id = $1"},
				{"contacts", "SELECT COUNT(*) FROM contacts WHERE source_id = $1"},
				{"accounts", "SELECT COUNT(*) FROM accounts WHERE source_id = $1"},
			}
		case "ORDER_STATUS":
			uses = []use{{"sales orders", "SELECT COUNT(*) FROM sales_orders WHERE status = $1"}}
		case "INVOICE_STATUS":
			uses = []use{{"invoices", "SELECT COUNT(*) FROM invoices WHERE status = $1"}}
		case "TICKET_STATUS":
			uses = []use{{"tickets", "SELECT COUNT(*) FROM tickets WHERE status = $1"}}
		}
	}
	for _, u := range uses {
		var n int64
		if err := t.q.QueryRowContext(t.ctx, u.query, args...).Scan(&n); err != nil {
			return fmt.Errorf("store: status %s/%s in use: %w", st.EntityID, st.StatusID, err)
		}
		if n > 0 {
			return crm.Invalid(field, "%s/%s is used by %d %s (counting the recycle bin)", st.EntityID, st.StatusID, n, u.what)
		}
	}
	return nil
}

// GetSetting returns a setting's value, ErrNotFound when unset.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.Read.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = $1", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", NotFound("setting", key)
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting creates or replaces a setting.
func (s *Store) SetSetting(ctx context.Context, actor crm.Actor, key, value string) error {
	key = strings.TrimSpace(key)
	if key == "" || len(key) > 100 {
		return crm.Invalid("key", "must have 1 to 100 characters")
	}
	return s.Write(ctx, actor, func(t *Tx) error {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key, value); err != nil {
			return fmt.Errorf("store: set setting %s: %w", key, err)
		}
		return nil
	})
}
