package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// CalendarActivities returns the live activities a CalDAV calendar of
// userID serves (meetings, calls and tasks; e-mails are not calendar items)
// with what clients kept beside them, as far as ctx's scope lets it see.
func (s *Store) CalendarActivities(ctx context.Context, userID int64) ([]crm.Activity, map[int64]crm.ActivityICal, error) {
	args := []any{userID}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := ""
	if sc, ok := scopeOf(ctx); ok {
		if c := sc.cond("assigned_by_id", arg, false); c != "" {
			where = " AND " + c
		}
	}
	t := s.rq(ctx)
	as, err := scanActivities(t, "SELECT "+activityColumns+` FROM activities
		WHERE deleted_at = 0 AND assigned_by_id = $1 AND kind IN ('meeting', 'call', 'task')`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: calendar activities of user %d: %w", userID, err)
	}
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	xs, err := activityICals(t, ids)
	if err != nil {
		return nil, nil, err
	}
	return as, xs, nil
}

// CalendarRecurring are the live activities with a recurrence rule that
// start before to, of one user (0: every user the request may see), with
// what clients kept beside them: the calendar lays out their occurrences.
func (s *Store) CalendarRecurring(ctx context.Context, userID int64, to time.Time) ([]crm.Activity, map[int64]crm.ActivityICal, error) {
	args := []any{to.UnixMicro()}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := ""
	if userID != 0 {
		where += " AND assigned_by_id = " + arg(userID)
	}
	if sc, ok := scopeOf(ctx); ok {
		if c := sc.cond("assigned_by_id", arg, false); c != "" {
			where += " AND " + c
		}
	}
	t := s.rq(ctx)
	as, err := scanActivities(t, "SELECT "+activityColumns+` FROM activities
		WHERE deleted_at = 0 AND start_at <> 0 AND start_at < $1 AND id IN (SELECT activity_id FROM activity_ical WHERE rrule <> '')`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: recurring activities of user %d: %w", userID, err)
	}
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	xs, err := activityICals(t, ids)
	if err != nil {
		return nil, nil, err
	}
	return as, xs, nil
}

// ActivityICal returns what clients kept beside activity id (the zero
// value, ActivityID 0, when none has written it).
func (s *Store) ActivityICal(ctx context.Context, id int64) (crm.ActivityICal, error) {
	xs, err := activityICals(s.rq(ctx), []int64{id})
	if err != nil {
		return crm.ActivityICal{}, err
	}
	return xs[id], nil
}

// ActivityByHref finds the live activity of userID a client stored under
// the resource name href, or with the iCalendar UID uid; ErrNotFound when
// there is none.
func (s *Store) ActivityByHref(ctx context.Context, userID int64, href, uid string) (int64, error) {
	var id int64
	err := s.rq(ctx).q.QueryRowContext(ctx, `SELECT x.activity_id FROM activity_ical x JOIN activities a ON a.id = x.activity_id
		WHERE a.deleted_at = 0 AND a.assigned_by_id = $1 AND ((x.href = $2 AND x.href <> '') OR (x.uid = $3 AND x.uid <> ''))
		ORDER BY CASE WHEN x.href = $2 THEN 0 ELSE 1 END, x.activity_id LIMIT 1`, userID, href, uid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, NotFound("calendar object", 0)
	}
	if err != nil {
		return 0, fmt.Errorf("store: calendar object %q: %w", href, err)
	}
	return id, nil
}

func activityICals(t txq, ids []int64) (map[int64]crm.ActivityICal, error) {
	out := make(map[int64]crm.ActivityICal, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.q.QueryContext(t.ctx, `SELECT activity_id, uid, href, tzid, floating, all_day, rrule, exdates, timezones, extra
		FROM activity_ical WHERE activity_id IN (`+placeholders(1, len(ids))+`)`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: load activity_ical: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var x crm.ActivityICal
		var ex string
		if err := rows.Scan(&x.ActivityID, &x.UID, &x.Href, &x.TZID, &x.Floating, &x.AllDay, &x.RRule, &ex, &x.Timezones, &x.Extra); err != nil {
			return nil, fmt.Errorf("store: load activity_ical: %w", err)
		}
		for _, f := range strings.Split(ex, ",") {
			if f == "" {
				continue
			}
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("store: activity_ical %d: exdates %q: %w", x.ActivityID, f, err)
			}
			x.ExDates = append(x.ExDates, fromMicro(n))
		}
		out[x.ActivityID] = x
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load activity_ical: %w", err)
	}
	return out, nil
}

// WriteCalendarObject stores an event or task a CalDAV client wrote, in
// one write: a new activity when id is 0 (a, checked and logged like any
// create), else the live activity id changed by mutate (with the access
// rules, validation and change log of UpdateActivity); and beside it what
// the client kept (x). An activity whose fields did not change is still
// stamped and logged, so that a changed alarm reaches the other clients.
func (s *Store) WriteCalendarObject(ctx context.Context, actor crm.Actor, id int64, a crm.Activity, mutate func(*crm.Activity) error,
	x crm.ActivityICal) (crm.Activity, error) {
	var out crm.Activity
	err := s.Write(ctx, actor, func(t *Tx) error {
		var err error
		if id == 0 {
			out, err = createInTx(t, EntityActivity, a, checkActivity, func(t *Tx, a *crm.Activity) error {
				activityTimes(nil, a, t.now)
				return t.insertActivity(a)
			})
			if err != nil {
				return err
			}
			x.ActivityID = out.ID
			return t.saveActivityICal(x)
		}
		prev, err := activityICals(t.rq(), []int64{id})
		if err != nil {
			return err
		}
		n := len(t.root().events)
		if out, err = t.UpdateActivity(id, mutate); err != nil {
			return err
		}
		x.ActivityID = out.ID
		if len(t.root().events) == n && !sameJSON(prev[id], x) {
			// Only what the client kept changed (an alarm, an attendee):
			// the activity's log names it, so that sync tokens move.
			t.Emit(EntityActivity, id, events.Update, map[string]events.Change{
				"calendar": {Old: jsonRaw(icalDigest(prev[id])), New: jsonRaw(icalDigest(x))},
			})
		}
		return t.saveActivityICal(x)
	})
	return out, err
}

func (t *Tx) saveActivityICal(x crm.ActivityICal) error {
	ex := make([]string, len(x.ExDates))
	for i, d := range x.ExDates {
		ex[i] = strconv.FormatInt(micro(d.UTC().Truncate(time.Microsecond)), 10)
	}
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO activity_ical (activity_id, uid, href, tzid, floating, all_day, rrule, exdates, timezones, extra)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (activity_id) DO UPDATE SET uid = excluded.uid, href = excluded.href, tzid = excluded.tzid,
			floating = excluded.floating, all_day = excluded.all_day, rrule = excluded.rrule, exdates = excluded.exdates,
			timezones = excluded.timezones, extra = excluded.extra`,
		x.ActivityID, x.UID, x.Href, x.TZID, x.Floating, x.AllDay, x.RRule, strings.Join(ex, ","), x.Timezones, x.Extra)
	if err != nil {
		return fmt.Errorf("store: save activity_ical %d: %w", x.ActivityID, err)
	}
	return nil
}

// icalDigest names a version of the kept properties in the change log
// without copying them there.
func icalDigest(x crm.ActivityICal) string {
	if x.ActivityID == 0 {
		return ""
	}
	h := sha256.Sum256(jsonRaw(x))
	return hex.EncodeToString(h[:6])
}
