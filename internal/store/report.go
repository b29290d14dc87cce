package store

import (
	"context"
	"fmt"
	"time"
)

// The reports' queries (the web's "Отчёты"): aggregates only, grouped in
// SQL by a day number (unix µs / 86,400,000,000, the same integer
// arithmetic on both engines) that the caller folds into months, so that
// 100,000 records come back as a few hundred rows. Scoped like lists: a
// manager's reports count what they may see.

// ReportFilter limits a report: a period [From, To) and a responsible
// user (0: everyone).
type ReportFilter struct {
	From, To time.Time
	UserID   int64
}

const microsPerDay = 86_400_000_000

// Day converts a day number of the reports back to a date (UTC).
func Day(n int64) time.Time { return time.UnixMicro(n * microsPerDay).UTC() }

func (f ReportFilter) where(table, timeCol string, arg func(any) string, ctx context.Context, entity string) string {
	w := fmt.Sprintf("r.deleted_at = 0 AND r.%s >= %s AND r.%s < %s", timeCol, arg(micro(f.From)), timeCol, arg(micro(f.To)))
	if f.UserID != 0 {
		w += " AND r.assigned_by_id = " + arg(f.UserID)
	}
	if c := ScopeCondition(ctx, entity, "r", arg); c != "" {
		w += " AND " + c
	}
	return w
}

func argList() (*[]any, func(any) string) {
	var args []any
	return &args, func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
}

// StageCount is the deals of one stage: how many, their sum.
type StageCount struct {
	StageID string
	Count   int64
	Sum     int64 // kopecks, any currency summed as is
}

// ReportDealStages counts a pipeline's deals created in the period by
// stage.
func (s *Store) ReportDealStages(ctx context.Context, pipeline int64, f ReportFilter) ([]StageCount, error) {
	args, arg := argList()
	cat := arg(pipeline)
	q := "SELECT r.stage_id, COUNT(*), COALESCE(SUM(r.opportunity), 0) FROM deals r WHERE r.category_id = " + cat + " AND " +
		f.where("deals", "created_at", arg, ctx, EntityDeal) + " GROUP BY r.stage_id"
	rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
	if err != nil {
		return nil, fmt.Errorf("store: report deal stages: %w", err)
	}
	defer rows.Close()
	var out []StageCount
	for rows.Next() {
		var c StageCount
		if err := rows.Scan(&c.StageID, &c.Count, &c.Sum); err != nil {
			return nil, fmt.Errorf("store: report deal stages: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LeadCount is the leads of one source and UTM campaign on one day.
type LeadCount struct {
	SourceID, Campaign string
	Day                int64
	Count              int64
}

// ReportLeads counts the leads created in the period by source, UTM
// campaign and day.
func (s *Store) ReportLeads(ctx context.Context, f ReportFilter) ([]LeadCount, error) {
	args, arg := argList()
	q := "SELECT r.source_id, r.utm_campaign, r.created_at / " + fmt.Sprint(microsPerDay) + " AS d, COUNT(*) FROM leads r WHERE " +
		f.where("leads", "created_at", arg, ctx, EntityLead) + " GROUP BY r.source_id, r.utm_campaign, d"
	rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
	if err != nil {
		return nil, fmt.Errorf("store: report leads: %w", err)
	}
	defer rows.Close()
	var out []LeadCount
	for rows.Next() {
		var c LeadCount
		if err := rows.Scan(&c.SourceID, &c.Campaign, &c.Day, &c.Count); err != nil {
			return nil, fmt.Errorf("store: report leads: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// WonCount is one manager's won deals of one day.
type WonCount struct {
	UserID int64
	Day    int64
	Count  int64
	Sum    int64
}

// ReportWon counts the won deals by manager and the day they were won:
// the deal's close date when it has one, else the day of its last change.
func (s *Store) ReportWon(ctx context.Context, f ReportFilter) ([]WonCount, error) {
	args, arg := argList()
	// The period is applied to the day in Go: it is either column.
	where := "r.deleted_at = 0 AND r.won = TRUE"
	if f.UserID != 0 {
		where += " AND r.assigned_by_id = " + arg(f.UserID)
	}
	if c := ScopeCondition(ctx, EntityDeal, "r", arg); c != "" {
		where += " AND " + c
	}
	q := "SELECT r.assigned_by_id, r.close_date, r.updated_at / " + fmt.Sprint(microsPerDay) + " AS d, COUNT(*), COALESCE(SUM(r.opportunity), 0) FROM deals r WHERE " +
		where + " GROUP BY r.assigned_by_id, r.close_date, d"
	rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
	if err != nil {
		return nil, fmt.Errorf("store: report won deals: %w", err)
	}
	defer rows.Close()
	// Days are dates: the period's bounds are taken as the dates they
	// fall on in their own zone, as a close date is written.
	dateDay := func(t time.Time) int64 {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMicro() / microsPerDay
	}
	from, to := dateDay(f.From), dateDay(f.To)
	var out []WonCount
	for rows.Next() {
		var c WonCount
		var closeDate string
		if err := rows.Scan(&c.UserID, &closeDate, &c.Day, &c.Count, &c.Sum); err != nil {
			return nil, fmt.Errorf("store: report won deals: %w", err)
		}
		if d, err := time.Parse(time.DateOnly, closeDate); err == nil {
			c.Day = d.UnixMicro() / microsPerDay
		}
		if c.Day < from || c.Day >= to {
			continue
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ActivityCount is one manager's activities in the period: done, overdue
// (not done, ended before now) and planned.
type ActivityCount struct {
	UserID                 int64
	Done, Overdue, Planned int64
}

// ReportActivities counts the activities starting in the period by
// manager.
func (s *Store) ReportActivities(ctx context.Context, f ReportFilter, now time.Time) ([]ActivityCount, error) {
	args, arg := argList()
	nowArg := arg(micro(now))
	q := "SELECT r.assigned_by_id, r.done, CASE WHEN r.end_at < " + nowArg + " THEN 1 ELSE 0 END AS past, COUNT(*) FROM activities r WHERE " +
		f.where("activities", "start_at", arg, ctx, EntityActivity) + " GROUP BY r.assigned_by_id, r.done, past ORDER BY r.assigned_by_id"
	rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
	if err != nil {
		return nil, fmt.Errorf("store: report activities: %w", err)
	}
	defer rows.Close()
	by := map[int64]*ActivityCount{}
	var out []ActivityCount
	var order []int64
	for rows.Next() {
		var user, n int64
		var done bool
		var past int
		if err := rows.Scan(&user, &done, &past, &n); err != nil {
			return nil, fmt.Errorf("store: report activities: %w", err)
		}
		c := by[user]
		if c == nil {
			c = &ActivityCount{UserID: user}
			by[user] = c
			order = append(order, user)
		}
		switch {
		case done:
			c.Done += n
		case past == 1:
			c.Overdue += n
		default:
			c.Planned += n
		}
	}
	for _, u := range order {
		out = append(out, *by[u])
	}
	return out, rows.Err()
}
