package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
)

var activitySpec = spec{
	entity: EntityActivity, table: "activities",
	columns: map[string]Column{
		"kind": {"kind", KindText}, "subject": {"subject", KindText},
		"owner_type": {"owner_type", KindText}, "owner_id": {"owner_id", KindInt},
		"direction": {"direction", KindText}, "call_status": {"call_status", KindText}, "priority": {"priority", KindText}, "done": {"done", KindBool},
		"start_at": {"start_at", KindTime}, "end_at": {"end_at", KindTime}, "completed_at": {"completed_at", KindTime},
		"assigned_by_id": {"assigned_by_id", KindInt}, "created_by_id": {"created_by_id", KindInt},
		"created_at": {"created_at", KindTime}, "updated_at": {"updated_at", KindTime}, "deleted_at": {"deleted_at", KindTime},
	},
}

const activityColumns = `id, kind, subject, description, start_at, end_at, owner_type, owner_id, direction, comm_value,
	priority, done, completed_at, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at, deleted_at, deleted_by_id,
	call_status, call_from, call_to, call_line, call_duration, recording_url`

// scanActivities reads rows of activityColumns.
func scanActivities(t txq, query string, args ...any) ([]crm.Activity, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: load activities: %w", err)
	}
	defer rows.Close()
	out := []crm.Activity{}
	for rows.Next() {
		var a crm.Activity
		var start, end, completed, created, updated, deleted int64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Subject, &a.Description, &start, &end, &a.OwnerType, &a.OwnerID, &a.Direction, &a.CommValue,
			&a.Priority, &a.Done, &completed, &a.AssignedByID, &a.CreatedByID, &a.UpdatedByID, &created, &updated, &deleted, &a.DeletedByID,
			&a.CallStatus, &a.CallFrom, &a.CallTo, &a.CallLine, &a.CallDuration, &a.RecordingURL); err != nil {
			return nil, fmt.Errorf("store: load activities: %w", err)
		}
		a.StartAt, a.EndAt, a.CompletedAt = optTime(start), optTime(end), optTime(completed)
		a.CreatedAt, a.UpdatedAt, a.DeletedAt = fromMicro(created), fromMicro(updated), optTime(deleted)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load activities: %w", err)
	}
	return out, nil
}

// withActivityExtra fills the custom values and external ids of as.
func withActivityExtra(t txq, as []crm.Activity) ([]crm.Activity, error) {
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	custom, err := loadCustom(t, EntityActivity, ids)
	if err != nil {
		return nil, err
	}
	ext, err := loadExternal(t, EntityActivity, ids)
	if err != nil {
		return nil, err
	}
	for i := range as {
		as[i].Custom = custom[as[i].ID]
		as[i].ExternalIDs = ext[as[i].ID]
	}
	return as, nil
}

// loadActivities reads full activities by id, in the order given; missing
// ids are left out.
func loadActivities(t txq, ids []int64) ([]crm.Activity, error) {
	if len(ids) == 0 {
		return []crm.Activity{}, nil
	}
	as, err := scanActivities(t, "SELECT "+activityColumns+" FROM activities WHERE id IN ("+placeholders(1, len(ids))+")", int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]crm.Activity, len(as))
	for _, a := range as {
		byID[a.ID] = a
	}
	out := make([]crm.Activity, 0, len(as))
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, a)
		}
	}
	return withActivityExtra(t, out)
}

func getActivity(t txq, id int64) (crm.Activity, error) {
	as, err := loadActivities(t, []int64{id})
	if err != nil {
		return crm.Activity{}, err
	}
	if len(as) == 0 {
		return crm.Activity{}, NotFound("activity", id)
	}
	return as[0], nil
}

// GetActivity returns an activity, live or in the recycle bin.
func (s *Store) GetActivity(ctx context.Context, id int64) (crm.Activity, error) {
	v, err := getActivity(s.rq(ctx), id)
	return scoped1(ctx, EntityActivity, v, err)
}

// ListActivities returns a page of activities.
func (s *Store) ListActivities(ctx context.Context, p ListParams) ([]crm.Activity, string, error) {
	page, err := s.listIDs(s.rq(ctx), activitySpec, p)
	if err != nil {
		return nil, "", err
	}
	as, err := loadActivities(s.rq(ctx), page.IDs)
	return as, page.NextCursor, err
}

// Calendar returns the live activities of a user (0: of all users) that
// overlap [from, to), ordered by start. An activity without an end is an
// instant at its start; one with only an end (a task with a deadline) is
// an instant at its end; one with neither is on no calendar.
func (s *Store) Calendar(ctx context.Context, userID int64, from, to time.Time) ([]crm.Activity, error) {
	args := []any{from.UnixMicro(), to.UnixMicro()}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	user := ""
	if userID != 0 {
		user = " AND assigned_by_id = " + arg(userID)
	}
	// A manager sees the calendars of the users whose records they see.
	if sc, ok := scopeOf(ctx); ok {
		if c := sc.cond("assigned_by_id", arg, false); c != "" {
			user += " AND " + c
		}
	}
	t := s.rq(ctx)
	as, err := scanActivities(t, "SELECT "+activityColumns+` FROM activities
		WHERE deleted_at = 0`+user+` AND (
			(start_at <> 0 AND start_at < $2 AND (end_at >= $1 OR (end_at = 0 AND start_at >= $1)))
			OR (start_at = 0 AND end_at <> 0 AND end_at >= $1 AND end_at < $2))
		ORDER BY CASE WHEN start_at = 0 THEN end_at ELSE start_at END, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: calendar of user %d: %w", userID, err)
	}
	return withActivityExtra(t, as)
}

// checkActivity validates what an activity refers to.
func checkActivity(t txq, a *crm.Activity) error {
	return checkActivityChange(t, nil, a)
}

// checkActivityChange is checkActivity for an update from old: a record
// the activity stays linked to is not checked again, so a call on a lead
// in the recycle bin can still be marked done.
func checkActivityChange(t txq, old, a *crm.Activity) error {
	r := refs{t: t}
	r.user("assigned_by_id", a.AssignedByID)
	if old == nil || old.OwnerType != a.OwnerType || old.OwnerID != a.OwnerID {
		if a.OwnerType != "" {
			_, known := entityTables[a.OwnerType]
			r.check(known, "owner_type", "%q is not a CRM entity", a.OwnerType)
			r.record("owner_id", a.OwnerType, a.OwnerID)
		}
	}
	r.custom(EntityActivity, &a.Custom)
	return r.err
}

// activityTimes puts the times of a in their stored form (UTC, whole
// microseconds) so the record reads back as written, and sets completed_at
// from done: the moment done turned true, kept while it stays true.
func activityTimes(old, a *crm.Activity, now time.Time) {
	at := func(p *time.Time) *time.Time {
		if p == nil || p.IsZero() {
			return nil
		}
		v := p.UTC().Truncate(time.Microsecond)
		return &v
	}
	a.StartAt, a.EndAt = at(a.StartAt), at(a.EndAt)
	switch {
	case !a.Done:
		a.CompletedAt = nil
	case old != nil && old.Done:
		a.CompletedAt = old.CompletedAt
	default:
		a.CompletedAt = at(&now)
	}
}

// CreateActivity validates and stores a new activity with its create event.
func (s *Store) CreateActivity(ctx context.Context, actor crm.Actor, a crm.Activity) (crm.Activity, error) {
	return createRecord(s, ctx, actor, EntityActivity, a, checkActivity, func(t *Tx, a *crm.Activity) error {
		activityTimes(nil, a, t.now)
		return t.insertActivity(a)
	})
}

func (t *Tx) insertActivity(a *crm.Activity) error {
	err := t.tx.QueryRowContext(t.ctx, `INSERT INTO activities (kind, subject, description, start_at, end_at, owner_type, owner_id,
		direction, comm_value, priority, done, completed_at, search, assigned_by_id, created_by_id, updated_by_id, created_at, updated_at,
		call_status, call_from, call_to, call_line, call_duration, recording_url)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) RETURNING id`,
		a.Kind, a.Subject, a.Description, optMicro(a.StartAt), optMicro(a.EndAt), a.OwnerType, a.OwnerID,
		a.Direction, a.CommValue, a.Priority, a.Done, optMicro(a.CompletedAt), a.SearchText(),
		a.AssignedByID, a.CreatedByID, a.UpdatedByID, micro(a.CreatedAt), micro(a.UpdatedAt),
		a.CallStatus, a.CallFrom, a.CallTo, a.CallLine, a.CallDuration, a.RecordingURL).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("store: insert activity: %w", err)
	}
	if err := t.saveCustom(EntityActivity, a.ID, a.Custom, true); err != nil {
		return err
	}
	return t.saveExternal(EntityActivity, a.ID, a.ExternalIDs, true)
}

// UpdateActivity loads a live activity, lets mutate change it, validates
// and stores the result with an update event naming the changed fields.
func (s *Store) UpdateActivity(ctx context.Context, actor crm.Actor, id int64, mutate func(*crm.Activity) error) (crm.Activity, error) {
	return updateRecord(s, ctx, actor, id, activityOps, mutate)
}

// UpdateActivity is Store.UpdateActivity inside t.
func (t *Tx) UpdateActivity(id int64, mutate func(*crm.Activity) error) (crm.Activity, error) {
	return updateInTx(t, id, activityOps, mutate)
}

var activityOps = updateOps[crm.Activity]{
	entity: EntityActivity, get: getActivity,
	check: checkActivityChange,
	save: func(t *Tx, old, cur *crm.Activity) error {
		activityTimes(old, cur, t.now)
		return t.updateActivity(old, cur)
	},
}

func (t *Tx) updateActivity(old, a *crm.Activity) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE activities SET kind = $1, subject = $2, description = $3, start_at = $4, end_at = $5,
		owner_type = $6, owner_id = $7, direction = $8, comm_value = $9, priority = $10, done = $11, completed_at = $12,
		search = $13, assigned_by_id = $14, updated_by_id = $15, updated_at = $16,
		call_status = $18, call_from = $19, call_to = $20, call_line = $21, call_duration = $22, recording_url = $23 WHERE id = $17`,
		a.Kind, a.Subject, a.Description, optMicro(a.StartAt), optMicro(a.EndAt), a.OwnerType, a.OwnerID,
		a.Direction, a.CommValue, a.Priority, a.Done, optMicro(a.CompletedAt),
		a.SearchText(), a.AssignedByID, a.UpdatedByID, micro(a.UpdatedAt), a.ID,
		a.CallStatus, a.CallFrom, a.CallTo, a.CallLine, a.CallDuration, a.RecordingURL)
	if err != nil {
		return fmt.Errorf("store: update activity %d: %w", a.ID, err)
	}
	if !sameJSON(old.Custom, a.Custom) {
		if err := t.saveCustom(EntityActivity, a.ID, a.Custom, false); err != nil {
			return err
		}
	}
	if !sameJSON(old.ExternalIDs, a.ExternalIDs) {
		return t.saveExternal(EntityActivity, a.ID, a.ExternalIDs, false)
	}
	return nil
}
