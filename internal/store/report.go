package store

import (
	"context"
	"fmt"
	"sort"
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

// dealStagesFull counts a pipeline's deals created in the period by
// stage from the deals themselves.
func (s *Store) dealStagesFull(ctx context.Context, pipeline int64, f ReportFilter) ([]StageCount, error) {
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

// leadsFull counts the leads created in the period by source, UTM
// campaign and day from the leads themselves.
func (s *Store) leadsFull(ctx context.Context, f ReportFilter) ([]LeadCount, error) {
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
	return s.reportWon(ctx, f, "report_won r", "SUM(r.n), SUM(r.amount)", "r.day", "r.n <> 0")
}

// wonFull is ReportWon from the deals themselves.
func (s *Store) wonFull(ctx context.Context, f ReportFilter) ([]WonCount, error) {
	return s.reportWon(ctx, f, "deals r", "COUNT(*), COALESCE(SUM(r.opportunity), 0)", "r.updated_at / "+fmt.Sprint(microsPerDay), "r.deleted_at = 0 AND r.won = TRUE")
}

// reportWon reads the won deals' groups from table (the counts of
// migration 0025 or the deals).
func (s *Store) reportWon(ctx context.Context, f ReportFilter, table, counts, day, live string) ([]WonCount, error) {
	args, arg := argList()
	// The period is applied to the day in Go: it is either column.
	where := live
	if f.UserID != 0 {
		where += " AND r.assigned_by_id = " + arg(f.UserID)
	}
	if c := ScopeCondition(ctx, EntityDeal, "r", arg); c != "" {
		where += " AND " + c
	}
	q := "SELECT r.assigned_by_id, r.close_date, " + day + " AS d, " + counts + " FROM " + table + " WHERE " +
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

// activitiesFull counts the activities starting in the period by
// manager from the activities themselves.
// extra, when not nil, adds a condition.
func (s *Store) activitiesFull(ctx context.Context, f ReportFilter, now time.Time, extra func(arg func(any) string) string) ([]ActivityCount, error) {
	args, arg := argList()
	more := ""
	if extra != nil {
		more = " AND " + extra(arg)
	}
	nowArg := arg(micro(now))
	q := "SELECT r.assigned_by_id, r.done, CASE WHEN r.end_at < " + nowArg + " THEN 1 ELSE 0 END AS past, COUNT(*) FROM activities r WHERE " +
		f.where("activities", "start_at", arg, ctx, EntityActivity) + more + " GROUP BY r.assigned_by_id, r.done, past ORDER BY r.assigned_by_id"
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

const microsPerHour = 3_600_000_000

// hourSpan splits a period [from, to) (unix µs) into the whole hours
// inside it, [h0, h1) as hour numbers, whose counts migration 0025 keeps,
// and the parts before and after them, which are counted from the
// records (none when the period's bounds are whole hours, as the web's
// Moscow midnights are). hours is false when the period holds no whole
// hour: then the edge is the whole period.
func hourSpan(f ReportFilter) (h0, h1 int64, hours bool, edges []ReportFilter) {
	from, to := micro(f.From), micro(f.To)
	h0, h1 = (from+microsPerHour-1)/microsPerHour, to/microsPerHour
	if from < 0 || h0 >= h1 {
		return 0, 0, false, []ReportFilter{f}
	}
	edge := func(a, b int64) {
		if a < b {
			edges = append(edges, ReportFilter{From: time.UnixMicro(a), To: time.UnixMicro(b), UserID: f.UserID})
		}
	}
	edge(from, h0*microsPerHour)
	edge(h1*microsPerHour, to)
	return h0, h1, true, edges
}

// countWhere is the WHERE of a report over the counts of migration 0025:
// the hours, the manager, the scope.
func (f ReportFilter) countWhere(ctx context.Context, entity string, h0, h1 int64, arg func(any) string) string {
	w := "r.hour >= " + arg(h0) + " AND r.hour < " + arg(h1)
	if f.UserID != 0 {
		w += " AND r.assigned_by_id = " + arg(f.UserID)
	}
	if c := ScopeCondition(ctx, entity, "r", arg); c != "" {
		w += " AND " + c
	}
	return w
}

// ReportDealStages counts a pipeline's deals created in the period by
// stage: the whole hours from the counts, the rest from the deals.
func (s *Store) ReportDealStages(ctx context.Context, pipeline int64, f ReportFilter) ([]StageCount, error) {
	h0, h1, hours, edges := hourSpan(f)
	sum := map[string]StageCount{}
	var order []string
	add := func(cs []StageCount) {
		for _, c := range cs {
			t, ok := sum[c.StageID]
			if !ok {
				order = append(order, c.StageID)
				t.StageID = c.StageID
			}
			t.Count += c.Count
			t.Sum += c.Sum
			sum[c.StageID] = t
		}
	}
	if hours {
		args, arg := argList()
		q := "SELECT r.stage_id, SUM(r.n), SUM(r.amount) FROM report_deals r WHERE r.category_id = " + arg(pipeline) + " AND " +
			f.countWhere(ctx, EntityDeal, h0, h1, arg) + " GROUP BY r.stage_id"
		rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
		if err != nil {
			return nil, fmt.Errorf("store: report deal stages: %w", err)
		}
		defer rows.Close()
		var cs []StageCount
		for rows.Next() {
			var c StageCount
			if err := rows.Scan(&c.StageID, &c.Count, &c.Sum); err != nil {
				return nil, fmt.Errorf("store: report deal stages: %w", err)
			}
			cs = append(cs, c)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: report deal stages: %w", err)
		}
		add(cs)
	}
	for _, e := range edges {
		cs, err := s.dealStagesFull(ctx, pipeline, e)
		if err != nil {
			return nil, err
		}
		add(cs)
	}
	var out []StageCount
	for _, k := range order {
		if c := sum[k]; c.Count != 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// ReportLeads counts the leads created in the period by source, UTM
// campaign and day: the whole hours from the counts, the rest from the
// leads.
func (s *Store) ReportLeads(ctx context.Context, f ReportFilter) ([]LeadCount, error) {
	h0, h1, hours, edges := hourSpan(f)
	type key struct {
		source, campaign string
		day              int64
	}
	sum := map[key]int64{}
	var order []key
	add := func(cs []LeadCount) {
		for _, c := range cs {
			k := key{c.SourceID, c.Campaign, c.Day}
			if _, ok := sum[k]; !ok {
				order = append(order, k)
			}
			sum[k] += c.Count
		}
	}
	if hours {
		args, arg := argList()
		// An hour's day: hours / 24, as created_at / µs a day.
		q := "SELECT r.source_id, r.utm_campaign, r.hour / 24 AS d, SUM(r.n) FROM report_leads r WHERE " +
			f.countWhere(ctx, EntityLead, h0, h1, arg) + " GROUP BY r.source_id, r.utm_campaign, d"
		rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
		if err != nil {
			return nil, fmt.Errorf("store: report leads: %w", err)
		}
		defer rows.Close()
		var cs []LeadCount
		for rows.Next() {
			var c LeadCount
			if err := rows.Scan(&c.SourceID, &c.Campaign, &c.Day, &c.Count); err != nil {
				return nil, fmt.Errorf("store: report leads: %w", err)
			}
			cs = append(cs, c)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: report leads: %w", err)
		}
		add(cs)
	}
	for _, e := range edges {
		cs, err := s.leadsFull(ctx, e)
		if err != nil {
			return nil, err
		}
		add(cs)
	}
	var out []LeadCount
	for _, k := range order {
		if n := sum[k]; n != 0 {
			out = append(out, LeadCount{SourceID: k.source, Campaign: k.campaign, Day: k.day, Count: n})
		}
	}
	return out, nil
}

// ReportActivities counts the activities starting in the period by
// manager (in the managers' order): the whole hours from the counts, the
// rest from the activities. Overdue is "ended before now": the counts
// know the hour of the end, so only the activities ending in now's hour
// are read to tell.
func (s *Store) ReportActivities(ctx context.Context, f ReportFilter, now time.Time) ([]ActivityCount, error) {
	h0, h1, hours, edges := hourSpan(f)
	by := map[int64]*ActivityCount{}
	add := func(cs []ActivityCount) {
		for _, c := range cs {
			t := by[c.UserID]
			if t == nil {
				t = &ActivityCount{UserID: c.UserID}
				by[c.UserID] = t
			}
			t.Done += c.Done
			t.Overdue += c.Overdue
			t.Planned += c.Planned
		}
	}
	if hours {
		nowHour := micro(now) / microsPerHour
		args, arg := argList()
		q := "SELECT r.assigned_by_id, r.done, r.end_hour, SUM(r.n) FROM report_activities r WHERE " +
			f.countWhere(ctx, EntityActivity, h0, h1, arg) + " GROUP BY r.assigned_by_id, r.done, r.end_hour"
		rows, err := s.db.Reader().QueryContext(ctx, q, *args...)
		if err != nil {
			return nil, fmt.Errorf("store: report activities: %w", err)
		}
		defer rows.Close()
		var cs []ActivityCount
		split := false
		for rows.Next() {
			var c ActivityCount
			var done bool
			var endHour, n int64
			if err := rows.Scan(&c.UserID, &done, &endHour, &n); err != nil {
				return nil, fmt.Errorf("store: report activities: %w", err)
			}
			switch {
			case done:
				c.Done = n
			case endHour < nowHour:
				c.Overdue = n
			case endHour > nowHour:
				c.Planned = n
			default:
				split = split || n != 0
				continue
			}
			cs = append(cs, c)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: report activities: %w", err)
		}
		add(cs)
		if split {
			// The open activities of the whole hours that end in now's
			// hour: overdue or planned by the minute.
			hf := ReportFilter{From: time.UnixMicro(h0 * microsPerHour), To: time.UnixMicro(h1 * microsPerHour), UserID: f.UserID}
			cs, err := s.activitiesFull(ctx, hf, now, func(arg func(any) string) string {
				return "r.done = FALSE AND r.end_at >= " + arg(nowHour*microsPerHour) + " AND r.end_at < " + arg((nowHour+1)*microsPerHour)
			})
			if err != nil {
				return nil, err
			}
			add(cs)
		}
	}
	for _, e := range edges {
		cs, err := s.activitiesFull(ctx, e, now, nil)
		if err != nil {
			return nil, err
		}
		add(cs)
	}
	var out []ActivityCount
	for _, c := range by {
		if c.Done+c.Overdue+c.Planned != 0 {
			out = append(out, *c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}
