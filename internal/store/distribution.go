package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

// Intake says that a lead being written comes from an intake channel and
// that nobody was named responsible: the distribution rules choose who
// is (see crm.DistributionRule). Intake paths put it in the write's
// context with WithIntake.
type Intake struct {
	Channel string // crm.ChannelForm, …
	FormID  int64  // the web form's or the mail collector's id
}

type intakeKey struct{}

// WithIntake marks the leads written with ctx as coming from in.
func WithIntake(ctx context.Context, in Intake) context.Context {
	return context.WithValue(ctx, intakeKey{}, in)
}

func intakeOf(ctx context.Context) (Intake, bool) {
	in, ok := ctx.Value(intakeKey{}).(Intake)
	return in, ok
}

const distributionColumns = `id, name, active, sort, channel, form_id, source_id, user_ids, hours_from, hours_to, weekdays, tz,
	fallback_user_id, working_hours_only, created_at, updated_at`

func scanDistributionRule(row interface{ Scan(...any) error }) (crm.DistributionRule, error) {
	var r crm.DistributionRule
	var users string
	var created, updated int64
	err := row.Scan(&r.ID, &r.Name, &r.Active, &r.Sort, &r.Channel, &r.FormID, &r.SourceID, &users, &r.HoursFrom, &r.HoursTo,
		&r.Weekdays, &r.TZ, &r.FallbackUserID, &r.WorkingHoursOnly, &created, &updated)
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.UpdatedAt = fromMicro(created), fromMicro(updated)
	r.UserIDs = []int64{}
	for _, f := range strings.Split(users, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil {
			r.UserIDs = append(r.UserIDs, id)
		}
	}
	return r, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// ListDistributionRules returns the rules in the order they are tried.
func (s *Store) ListDistributionRules(ctx context.Context) ([]crm.DistributionRule, error) {
	return listDistributionRules(s.rq(ctx), false)
}

func listDistributionRules(t txq, activeOnly bool) ([]crm.DistributionRule, error) {
	// Every lead of a form, a call or the API reads the active rules:
	// they are remembered like the custom field definitions (a rule's
	// change here clears them at once, another instance's within
	// cacheTTL). The turn each rule takes is never cached.
	if activeOnly && t.cache != nil {
		if v, ok := t.cache.get("distribution:active"); ok {
			return v.([]crm.DistributionRule), nil
		}
	}
	q := "SELECT " + distributionColumns + " FROM distribution_rules"
	if activeOnly {
		q += " WHERE active = TRUE"
	}
	rows, err := t.q.QueryContext(t.ctx, q+" ORDER BY sort, id")
	if err != nil {
		return nil, fmt.Errorf("store: distribution rules: %w", err)
	}
	defer rows.Close()
	out := []crm.DistributionRule{}
	for rows.Next() {
		r, err := scanDistributionRule(rows)
		if err != nil {
			return nil, fmt.Errorf("store: distribution rules: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: distribution rules: %w", err)
	}
	if activeOnly && t.cache != nil {
		t.cache.put("distribution:active", out)
	}
	return out, nil
}

// GetDistributionRule returns one rule.
func (s *Store) GetDistributionRule(ctx context.Context, id int64) (crm.DistributionRule, error) {
	r, err := scanDistributionRule(s.db.Read.QueryRowContext(ctx, "SELECT "+distributionColumns+" FROM distribution_rules WHERE id = $1", id))
	if err == sql.ErrNoRows {
		return r, NotFound("distribution rule", id)
	}
	if err != nil {
		return r, fmt.Errorf("store: distribution rule %d: %w", id, err)
	}
	return r, nil
}

// checkRule validates a rule's users.
func checkRule(t txq, r *crm.DistributionRule) error {
	v := refs{t: t}
	for _, id := range r.UserIDs {
		v.user("user_ids", id)
	}
	v.user("fallback_user_id", r.FallbackUserID)
	return v.err
}

// SaveDistributionRule creates a rule (ID 0) or replaces one (the
// handlers let administrators only).
func (s *Store) SaveDistributionRule(ctx context.Context, actor crm.Actor, r crm.DistributionRule) (crm.DistributionRule, error) {
	if err := r.Normalize(); err != nil {
		return r, err
	}
	if err := checkRule(s.rq(ctx), &r); err != nil {
		return r, err
	}
	err := s.Write(ctx, actor, func(t *Tx) error {
		now := micro(t.now)
		if r.ID == 0 {
			return t.tx.QueryRowContext(t.ctx, `INSERT INTO distribution_rules (name, active, sort, channel, form_id, source_id, user_ids,
				hours_from, hours_to, weekdays, tz, fallback_user_id, created_at, updated_at, working_hours_only)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING id`,
				r.Name, r.Active, r.Sort, r.Channel, r.FormID, r.SourceID, joinIDs(r.UserIDs), r.HoursFrom, r.HoursTo, r.Weekdays, r.TZ,
				r.FallbackUserID, now, r.WorkingHoursOnly).Scan(&r.ID)
		}
		res, err := t.tx.ExecContext(t.ctx, `UPDATE distribution_rules SET name = $1, active = $2, sort = $3, channel = $4, form_id = $5,
			source_id = $6, user_ids = $7, hours_from = $8, hours_to = $9, weekdays = $10, tz = $11, fallback_user_id = $12, updated_at = $13,
			working_hours_only = $14 WHERE id = $15`,
			r.Name, r.Active, r.Sort, r.Channel, r.FormID, r.SourceID, joinIDs(r.UserIDs), r.HoursFrom, r.HoursTo, r.Weekdays, r.TZ,
			r.FallbackUserID, now, r.WorkingHoursOnly, r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("distribution rule", r.ID)
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("store: save distribution rule: %w", err)
	}
	return s.GetDistributionRule(ctx, r.ID)
}

// DeleteDistributionRule removes a rule.
func (s *Store) DeleteDistributionRule(ctx context.Context, actor crm.Actor, id int64) error {
	return s.Write(ctx, actor, func(t *Tx) error {
		res, err := t.tx.ExecContext(t.ctx, "DELETE FROM distribution_rules WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("store: delete distribution rule %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return NotFound("distribution rule", id)
		}
		return nil
	})
}

// distribute chooses a new lead's responsible user by the rules when the
// write comes from intake (WithIntake). The turn is taken by an UPDATE …
// RETURNING in the lead's own transaction: PostgreSQL locks the rule's
// row until the commit, SQLite has one writer, so two instances never
// hand out the same turn, and a rolled-back lead gives its turn back.
func (t *Tx) distribute(l *crm.Lead) error {
	in, ok := intakeOf(t.ctx)
	if !ok {
		return nil
	}
	rules, err := listDistributionRules(t.rq(), true)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if !r.Matches(in.Channel, in.FormID, l.SourceID, t.now) {
			continue
		}
		users, err := t.activeUsers(r.UserIDs)
		if err != nil {
			return err
		}
		if r.WorkingHoursOnly {
			if users, err = t.onDuty(users, r.TZ); err != nil {
				return err
			}
		}
		if len(users) > 0 {
			var pos int64
			if err := t.tx.QueryRowContext(t.ctx, "UPDATE distribution_rules SET position = position + 1 WHERE id = $1 RETURNING position", r.ID).Scan(&pos); err != nil {
				return fmt.Errorf("store: distribution rule %d: take a turn: %w", r.ID, err)
			}
			l.AssignedByID = users[(pos-1)%int64(len(users))]
			return nil
		}
		if fb, err := t.activeUsers([]int64{r.FallbackUserID}); err != nil {
			return err
		} else if len(fb) == 1 {
			l.AssignedByID = fb[0]
			return nil
		}
	}
	return nil
}

// activeUsers keeps the ids of active users, in the given order.
func (t *Tx) activeUsers(ids []int64) ([]int64, error) {
	var out []int64
	for _, id := range ids {
		if id == 0 {
			continue
		}
		var active bool
		err := t.tx.QueryRowContext(t.ctx, "SELECT active FROM users WHERE id = $1", id).Scan(&active)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: distribution: user %d: %w", id, err)
		}
		if active {
			out = append(out, id)
		}
	}
	return out, nil
}

// onDuty keeps the users on duty at the write's moment by their working
// hours, each read in the user's time zone: their own (the preference
// "time_zone"), else the installation's (the setting "time_zone"), else
// the rule's. The turn goes round the users on duty only, so that one
// off duty never holds a turn.
func (t *Tx) onDuty(ids []int64, ruleTZ string) ([]int64, error) {
	install := ruleTZ
	var v string
	err := t.tx.QueryRowContext(t.ctx, "SELECT value FROM settings WHERE key = 'time_zone'").Scan(&v)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("store: distribution: installation time zone: %w", err)
	}
	if v != "" {
		install = v
	}
	var out []int64
	for _, id := range ids {
		var wh crm.WorkHours
		var tz sql.NullString
		err := t.tx.QueryRowContext(t.ctx, `SELECT u.work_days, u.work_from, u.work_to, p.value FROM users u
			LEFT JOIN user_prefs p ON p.user_id = u.id AND p.key = 'time_zone' WHERE u.id = $1`, id).Scan(&wh.Days, &wh.From, &wh.To, &tz)
		if err != nil {
			return nil, fmt.Errorf("store: distribution: working hours of user %d: %w", id, err)
		}
		loc := zoneOf(tz.String, install, ruleTZ)
		if wh.OnDuty(t.now, loc) {
			out = append(out, id)
		}
	}
	return out, nil
}

// zoneOf is the first of the names that is a known time zone; UTC when
// none is.
func zoneOf(names ...string) *time.Location {
	for _, n := range names {
		if n == "" {
			continue
		}
		if loc, err := time.LoadLocation(n); err == nil {
			return loc
		}
	}
	return time.UTC
}

// AssignedOf returns who is responsible for a record, as the write sees
// it (intake puts its calendar task on the lead's distributed owner).
func (t *Tx) AssignedOf(entity string, id int64) (int64, error) {
	table, ok := entityTables[entity]
	if !ok {
		return 0, fmt.Errorf("store: %q is not an entity", entity)
	}
	var owner int64
	if err := t.tx.QueryRowContext(t.ctx, "SELECT assigned_by_id FROM "+table+" WHERE id = $1", id).Scan(&owner); err != nil {
		return 0, fmt.Errorf("store: %s %d: responsible user: %w", entity, id, err)
	}
	return owner, nil
}
