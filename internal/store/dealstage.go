package store

import (
	"context"
	"fmt"

	"github.com/obmen/obmen/internal/crm"
)

// StageTotal is how many live deals sit in one stage of one pipeline and
// what they amount to in one currency.
type StageTotal struct {
	CategoryID int64
	StageID    string
	Currency   string
	Count      int
	Sum        crm.Amount
}

// DealStageTotals counts the live deals of every pipeline and stage the
// request may see, with their opportunity summed per currency (amounts in
// different currencies are never added up). One grouped query over the
// deals_stage index, so that the home page and the kanban show exact
// counts however many deals there are.
func (s *Store) DealStageTotals(ctx context.Context) ([]StageTotal, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where := "r.deleted_at = 0"
	if c := ScopeCondition(ctx, EntityDeal, "r", arg); c != "" {
		where += " AND " + c
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT r.category_id, r.stage_id, r.currency, COUNT(*), COALESCE(SUM(r.opportunity), 0)
		FROM deals r WHERE `+where+` GROUP BY r.category_id, r.stage_id, r.currency ORDER BY r.category_id, r.stage_id, r.currency`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: deal stage totals: %w", err)
	}
	defer rows.Close()
	var out []StageTotal
	for rows.Next() {
		var st StageTotal
		var sum int64
		if err := rows.Scan(&st.CategoryID, &st.StageID, &st.Currency, &st.Count, &sum); err != nil {
			return nil, fmt.Errorf("store: deal stage totals: %w", err)
		}
		st.Sum = crm.Amount(sum)
		out = append(out, st)
	}
	return out, rows.Err()
}
