package automation

import (
	"context"
	"fmt"
	"strconv"
)

// RecordStepsQuery asks for the steps that exchanged a record with an
// external system: the steps of the record's runs whose action starts
// with ActionPrefix ("bitrix24."), and, when OutputKey is given, the steps
// of any run whose action is one of OutputActions and whose output names
// the record under that key (a portal's event applied to the order:
// {"sales_order_id": 7}).
type RecordStepsQuery struct {
	Entity        string
	RecordID      int64
	ActionPrefix  string
	OutputKey     string
	OutputActions []string
	Limit         int
}

// RecordStep is one such step with its run's bundle.
type RecordStep struct {
	RunStep
	RunID      int64  `json:"run_id"`
	BundleName string `json:"bundle_name"`
}

// RecordSteps returns the steps RecordStepsQuery asks for, newest first:
// what the card of a record shows as its exchanges with a portal. It reads
// the runs' steps journal: nothing is kept twice.
func (s *Service) RecordSteps(ctx context.Context, q RecordStepsQuery) ([]RecordStep, error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 20
	}
	args := []any{q.Entity, q.RecordID, q.ActionPrefix + "%"}
	cond := "(r.entity = $1 AND r.record_id = $2 AND st.action LIKE $3)"
	if q.OutputKey != "" && len(q.OutputActions) > 0 {
		// The output is the step's JSON: the key and the id, followed by
		// the next key or the end of the object.
		key := `%"` + q.OutputKey + `":` + strconv.FormatInt(q.RecordID, 10)
		args = append(args, key+",%", key+"}%")
		in := ""
		for i, a := range q.OutputActions {
			if i > 0 {
				in += ", "
			}
			args = append(args, a)
			in += "$" + strconv.Itoa(len(args))
		}
		cond += " OR (st.action IN (" + in + ") AND (st.output LIKE $4 OR st.output LIKE $5))"
	}
	args = append(args, q.Limit)
	rows, err := s.db.Read.QueryContext(ctx, `SELECT st.run_id, b.name, st.seq, st.step_id, st.action, st.attempt, st.status, st.input, st.output, st.error,
		st.started_at, st.duration_us FROM automation_run_steps st JOIN automation_runs r ON r.id = st.run_id JOIN automation_bundles b ON b.id = r.bundle_id
		WHERE r.test = FALSE AND (`+cond+`) ORDER BY st.started_at DESC, st.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("automation: steps of %s %d: %w", q.Entity, q.RecordID, err)
	}
	defer rows.Close()
	out := []RecordStep{}
	for rows.Next() {
		var st RecordStep
		var in, outp string
		var at, dur int64
		if err := rows.Scan(&st.RunID, &st.BundleName, &st.Seq, &st.StepID, &st.Action, &st.Attempt, &st.Result, &in, &outp, &st.Error, &at, &dur); err != nil {
			return nil, fmt.Errorf("automation: steps of %s %d: %w", q.Entity, q.RecordID, err)
		}
		st.decode(in, outp, at, dur)
		out = append(out, st)
	}
	return out, rows.Err()
}
