package automation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusWaiting   = "waiting"
	StatusOK        = "ok"
	StatusError     = "error"
	StatusFiltered  = "filtered"
	StatusCancelled = "cancelled"
)

// Step results, as later steps see them in steps.<id>.result.
const (
	ResultOK      = "OK"
	ResultError   = "ERROR"
	ResultSkipped = "SKIPPED"
	// ResultWaiting is a delay step not yet over.
	ResultWaiting = "WAITING"
)

// Run is one trigger item of a bundle going through its steps.
type Run struct {
	ID          int64      `json:"id"`
	BundleID    int64      `json:"bundle_id"`
	BundleName  string     `json:"bundle_name,omitempty"`
	Version     int        `json:"version"`
	Status      string     `json:"status"`
	TriggerType string     `json:"trigger_type"`
	TriggerKey  string     `json:"trigger_key"`
	Trigger     any        `json:"trigger,omitempty"`
	EventID     int64      `json:"event_id,omitempty"`
	Entity      string     `json:"entity,omitempty"`
	RecordID    int64      `json:"record_id,omitempty"`
	OrderKey    string     `json:"order_key,omitempty"`
	Depth       int        `json:"depth"`
	ReplayOf    int64      `json:"replay_of,omitempty"`
	Step        int        `json:"next_step"`
	Attempt     int        `json:"attempt"`
	Error       string     `json:"error,omitempty"`
	ErrorStep   string     `json:"error_step,omitempty"`
	FilterTrace any        `json:"filter_trace,omitempty"`
	ResumeAt    *time.Time `json:"resume_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Steps, with GetRun: every attempt of every step, in order.
	Steps []RunStep `json:"steps,omitempty"`
	// Definition, with GetRun: the version the run ran (secrets masked).
	Definition *Definition `json:"definition,omitempty"`
}

// Finished reports whether the run is over.
func (r *Run) Finished() bool {
	switch r.Status {
	case StatusOK, StatusError, StatusFiltered, StatusCancelled:
		return true
	}
	return false
}

// RunStep is one attempt of one step.
type RunStep struct {
	Seq        int       `json:"seq"`
	StepID     string    `json:"step_id"`
	Action     string    `json:"action"`
	Attempt    int       `json:"attempt"`
	Result     string    `json:"result"`
	Input      any       `json:"input,omitempty"`
	Output     any       `json:"output,omitempty"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
}

// newRun is a run to insert.
type newRun struct {
	bundleID    int64
	version     int
	status      string // queued unless refused at once (depth)
	triggerType string
	key         string
	trigger     []byte // JSON, or nil when the worker builds it (CRM events)
	eventID     int64
	entity      string
	recordID    int64
	orderKey    string
	depth       int
	test        bool
	replayOf    int64
	err         string
	trace       []byte // why the filters refused it
}

// insertRunChunk bounds the rows of one INSERT. Few, so that the
// statement texts are few (one per size up to it) and stay prepared in
// the statement cache: SQLite parses a statement's numbered parameters
// in time that grows with the square of their number, and 100 rows of
// 16 parameters cost it more than inserting them.
const insertRunChunk = 16

// insertRuns inserts runs in tx, skipping a (bundle, trigger key) pair
// already there, and enqueues a job for each queued one this transaction
// inserted: a producer repeated after a crash, or racing another
// instance, makes no second run. It returns the new runs' ids in order
// (0 for a pair that existed).
func (s *Service) insertRuns(ctx context.Context, tx *sql.Tx, runs []newRun) ([]int64, error) {
	runner, err := s.started()
	if err != nil {
		return nil, err
	}
	now := s.now().UnixMicro()
	ids := make([]int64, 0, len(runs))
	var queued []int64
	for len(runs) > 0 {
		chunk := runs[:min(len(runs), insertRunChunk)]
		runs = runs[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO automation_runs (bundle_id, version, status, trigger_type, trigger_key, trigger, event_id, entity,
			record_id, order_key, depth, test, replay_of, error, filter_trace, created_at, finished_at) VALUES `)
		args := make([]any, 0, 16*len(chunk)+1)
		args = append(args, now)
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $1, $%d)",
				n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9, n+10, n+11, n+12, n+13, n+14, n+15, n+16)
			if r.depth == 0 {
				r.depth = 1
			}
			var finished int64
			if r.status != StatusQueued {
				finished = now
			}
			args = append(args, r.bundleID, r.version, r.status, r.triggerType, r.key, string(r.trigger), r.eventID, r.entity,
				r.recordID, r.orderKey, r.depth, r.test, r.replayOf, r.err, string(r.trace), finished)
		}
		q.WriteString(" ON CONFLICT (bundle_id, trigger_key) DO NOTHING RETURNING id, bundle_id, trigger_key, status")
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("automation: insert runs: %w", err)
		}
		got := map[string]int64{}
		for rows.Next() {
			var id, bundle int64
			var key, status string
			if err := rows.Scan(&id, &bundle, &key, &status); err != nil {
				rows.Close()
				return nil, fmt.Errorf("automation: insert runs: %w", err)
			}
			got[strconv.FormatInt(bundle, 10)+"\x00"+key] = id
			if status == StatusQueued {
				queued = append(queued, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("automation: insert runs: %w", err)
		}
		for _, r := range chunk {
			ids = append(ids, got[strconv.FormatInt(r.bundleID, 10)+"\x00"+r.key])
		}
	}
	// A job takes several runs: on SQLite River's own bookkeeping of a job
	// (fetching it, marking it done) holds the database's single writer
	// about as long as a three-step run's writes, so one job per run
	// would halve what the engine can do.
	var jobs []river.InsertManyParams
	for len(queued) > 0 {
		chunk := queued[:min(len(queued), runsPerJob)]
		queued = queued[len(chunk):]
		jobs = append(jobs, river.InsertManyParams{Args: runsArgs{RunIDs: slices.Clone(chunk)}, InsertOpts: runOpts(time.Time{})})
	}
	if err := runner.InsertManyTx(ctx, tx, jobs); err != nil {
		return nil, err
	}
	return ids, nil
}

// runsPerJob is how many new runs one job takes at most.
const runsPerJob = 16

// runsArgs is the job of working several new runs, each from its first
// step, at once.
type runsArgs struct {
	RunIDs []int64 `json:"run_ids"`
}

func (runsArgs) Kind() string { return "automation_runs" }

// enqueue adds a job for run id, at a time (zero: now), in tx.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, id int64, at time.Time) error {
	runner, err := s.started()
	if err != nil {
		return err
	}
	return runner.InsertTx(ctx, tx, runArgs{RunID: id}, runOpts(at))
}

// runArgs is the job of working one run, from its next step: a run's
// continuation, retry or resumption after a delay.
type runArgs struct {
	RunID int64 `json:"run_id"`
}

func (runArgs) Kind() string { return "automation_run" }

// runOpts: River's own retries are for failures of the engine (the
// database away); a step's retries are the engine's, each a new job.
func runOpts(at time.Time) *river.InsertOpts {
	return &river.InsertOpts{Queue: Queue, MaxAttempts: 20, ScheduledAt: at}
}

const runColumns = `r.id, r.bundle_id, r.version, r.status, r.trigger_type, r.trigger_key, r.event_id, r.entity, r.record_id, r.order_key,
	r.depth, r.replay_of, r.step, r.attempt, r.error, r.error_step, r.resume_at, r.created_at, r.started_at, r.finished_at, b.name`

func scanRun(row scanner, withTrigger bool) (Run, string, string, error) {
	var r Run
	var resume, created, started, finished int64
	var trig, trace string
	dest := []any{&r.ID, &r.BundleID, &r.Version, &r.Status, &r.TriggerType, &r.TriggerKey, &r.EventID, &r.Entity, &r.RecordID,
		&r.OrderKey, &r.Depth, &r.ReplayOf, &r.Step, &r.Attempt, &r.Error, &r.ErrorStep, &resume, &created, &started, &finished, &r.BundleName}
	if withTrigger {
		dest = append(dest, &trig, &trace)
	}
	if err := row.Scan(dest...); err != nil {
		return r, "", "", err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.ResumeAt, r.StartedAt, r.FinishedAt = optTime(resume), optTime(started), optTime(finished)
	return r, trig, trace, nil
}

func optTime(us int64) *time.Time {
	if us == 0 {
		return nil
	}
	t := time.UnixMicro(us).UTC()
	return &t
}

// GetRun returns a run with its trigger data, its steps and the
// definition of the version it ran.
func (s *Service) GetRun(ctx context.Context, id int64) (Run, error) {
	r, trig, trace, err := scanRun(s.db.Read.QueryRowContext(ctx, "SELECT "+runColumns+`, r.trigger, r.filter_trace
		FROM automation_runs r JOIN automation_bundles b ON b.id = r.bundle_id WHERE r.id = $1`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.NotFound("run", id)
	}
	if err != nil {
		return r, fmt.Errorf("automation: run %d: %w", id, err)
	}
	var stored map[string]any
	if trig != "" {
		v, _ := DecodeValue([]byte(trig))
		stored, _ = v.(map[string]any)
	}
	if full, err := s.completeTrigger(ctx, r.TriggerType, r.EventID, stored); err == nil && full != nil {
		r.Trigger = full
	} else if stored != nil {
		r.Trigger = stored
	}
	if trace != "" {
		r.FilterTrace, _ = DecodeValue([]byte(trace))
	}
	if r.Steps, err = s.runSteps(ctx, s.db.Reader(), id); err != nil {
		return r, err
	}
	if d, err := s.Version(ctx, r.BundleID, r.Version); err == nil {
		r.Definition = &d
	}
	return r, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Service) runSteps(ctx context.Context, q queryer, id int64) ([]RunStep, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, step_id, action, attempt, status, input, output, error, started_at, duration_us
		FROM automation_run_steps WHERE run_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("automation: steps of run %d: %w", id, err)
	}
	defer rows.Close()
	out := []RunStep{}
	for rows.Next() {
		var st RunStep
		var in, outp string
		var at, dur int64
		if err := rows.Scan(&st.Seq, &st.StepID, &st.Action, &st.Attempt, &st.Result, &in, &outp, &st.Error, &at, &dur); err != nil {
			return nil, fmt.Errorf("automation: steps of run %d: %w", id, err)
		}
		st.decode(in, outp, at, dur)
		out = append(out, st)
	}
	return out, rows.Err()
}

// decode fills the step's columns that are stored encoded: its input and
// output JSON, its start (µs) and its duration (µs).
func (st *RunStep) decode(in, out string, at, dur int64) {
	if in != "" {
		st.Input, _ = DecodeValue([]byte(in))
	}
	if out != "" {
		st.Output, _ = DecodeValue([]byte(out))
	}
	st.StartedAt = time.UnixMicro(at).UTC()
	st.DurationMS = float64(dur) / 1000
}

// RunQuery selects runs for the journal, newest first.
type RunQuery struct {
	BundleID int64
	Status   string
	Entity   string
	RecordID int64
	// Before pages: runs with id below it.
	Before int64
	Limit  int
}

// RunList is a page of the journal.
type RunList struct {
	Items      []Run `json:"items"`
	NextBefore int64 `json:"next_before"`
}

// ListRuns returns a page of the journal.
func (s *Service) ListRuns(ctx context.Context, q RunQuery) (RunList, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.BundleID != 0 {
		where = append(where, "r.bundle_id = "+arg(q.BundleID))
	}
	if q.Status != "" {
		where = append(where, "r.status = "+arg(q.Status))
	}
	if q.Entity != "" {
		where = append(where, "r.entity = "+arg(q.Entity))
	}
	if q.RecordID != 0 {
		where = append(where, "r.record_id = "+arg(q.RecordID))
	}
	if q.Before > 0 {
		where = append(where, "r.id < "+arg(q.Before))
	}
	sqlText := "SELECT " + runColumns + " FROM automation_runs r JOIN automation_bundles b ON b.id = r.bundle_id"
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY r.id DESC LIMIT " + arg(q.Limit+1)
	rows, err := s.db.Read.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return RunList{}, fmt.Errorf("automation: list runs: %w", err)
	}
	defer rows.Close()
	out := RunList{Items: []Run{}}
	for rows.Next() {
		r, _, _, err := scanRun(rows, false)
		if err != nil {
			return out, fmt.Errorf("automation: list runs: %w", err)
		}
		out.Items = append(out.Items, r)
	}
	if len(out.Items) > q.Limit {
		out.Items = out.Items[:q.Limit]
		out.NextBefore = out.Items[q.Limit-1].ID
	}
	return out, rows.Err()
}

// Replay makes a new run of the same trigger data with the bundle's
// current version.
func (s *Service) Replay(ctx context.Context, id int64) (Run, error) {
	var newID int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var bundle, eventID, recordID int64
		var typ, trig, entity, order string
		var depth int
		err := tx.QueryRowContext(ctx, `SELECT bundle_id, trigger_type, trigger, event_id, entity, record_id, order_key, depth
			FROM automation_runs WHERE id = $1`, id).Scan(&bundle, &typ, &trig, &eventID, &entity, &recordID, &order, &depth)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("run", id)
		}
		if err != nil {
			return fmt.Errorf("automation: replay run %d: %w", id, err)
		}
		var version int
		if err := tx.QueryRowContext(ctx, "SELECT version FROM automation_bundles WHERE id = $1", bundle).Scan(&version); err != nil {
			return fmt.Errorf("automation: replay run %d: %w", id, err)
		}
		ids, err := s.insertRuns(ctx, tx, []newRun{{bundleID: bundle, version: version, status: StatusQueued, triggerType: typ,
			key: "replay:" + strconv.FormatInt(id, 10) + ":" + randomKey(), trigger: []byte(trig), eventID: eventID, entity: entity,
			recordID: recordID, orderKey: order, depth: depth, replayOf: id}})
		if err != nil {
			return err
		}
		newID = ids[0]
		return nil
	})
	if err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, newID)
}

// Retry continues a failed run from its failed step, with the version it
// ran.
func (s *Service) Retry(ctx context.Context, id int64) (Run, error) {
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, "SELECT status FROM automation_runs WHERE id = $1"+s.forUpdate(), id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("run", id)
		}
		if err != nil {
			return fmt.Errorf("automation: retry run %d: %w", id, err)
		}
		if status != StatusError && status != StatusCancelled {
			return httpx.Errorf(409, "run_not_failed", "status", "run %d is %s: only a failed or cancelled run is retried", id, status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automation_runs SET status = 'queued', attempt = 0, error = '', error_step = '',
			finished_at = 0, resume_at = 0 WHERE id = $1`, id); err != nil {
			return fmt.Errorf("automation: retry run %d: %w", id, err)
		}
		return s.enqueue(ctx, tx, id, time.Time{})
	})
	if err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// Cancel stops a run that is not over; a step in flight finishes, the
// next does not start.
func (s *Service) Cancel(ctx context.Context, id int64) (Run, error) {
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE automation_runs SET status = 'cancelled', error = 'cancelled by a user', finished_at = $2
			WHERE id = $1 AND status IN ('queued', 'running', 'waiting')`, id, s.now().UnixMicro())
		if err != nil {
			return fmt.Errorf("automation: cancel run %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var status string
			if err := tx.QueryRowContext(ctx, "SELECT status FROM automation_runs WHERE id = $1", id).Scan(&status); errors.Is(err, sql.ErrNoRows) {
				return store.NotFound("run", id)
			}
			return httpx.Errorf(409, "run_finished", "status", "run %d is %s already", id, status)
		}
		return nil
	})
	if err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// Purge deletes filtered runs older than a day, and other finished runs
// and direct action calls older than the journal's keeping time.
func (s *Service) Purge(ctx context.Context) error {
	now := s.now()
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cond := `(status = 'filtered' AND created_at < $1) OR (status IN ('ok', 'error', 'cancelled') AND created_at < $2)`
		args := []any{now.Add(-s.keepFiltered).UnixMicro(), now.Add(-s.keepRuns).UnixMicro()}
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_run_steps WHERE run_id IN (SELECT id FROM automation_runs WHERE "+cond+")", args...); err != nil {
			return fmt.Errorf("automation: purge: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_runs WHERE "+cond, args...); err != nil {
			return fmt.Errorf("automation: purge: %w", err)
		}
		// Direct calls of actions are kept as long as runs.
		if _, err := tx.ExecContext(ctx, "DELETE FROM automation_action_calls WHERE started_at < $1", args[1]); err != nil {
			return fmt.Errorf("automation: purge: %w", err)
		}
		return nil
	})
}

func randomKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// RunStats counts a bundle's runs by status.
type RunStats struct {
	ByStatus map[string]int `json:"by_status"`
	Total    int            `json:"total"`
	// Open counts the runs not over (queued, running, waiting).
	Open int `json:"open"`
	// LastFinishedAt is when the latest run ended.
	LastFinishedAt *time.Time `json:"last_finished_at,omitempty"`
}

// Stats counts a bundle's runs in the journal.
func (s *Service) Stats(ctx context.Context, bundleID int64) (RunStats, error) {
	st := RunStats{ByStatus: map[string]int{}}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT status, COUNT(*), MAX(finished_at) FROM automation_runs WHERE bundle_id = $1 GROUP BY status`, bundleID)
	if err != nil {
		return st, fmt.Errorf("automation: stats of bundle %d: %w", bundleID, err)
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		var status string
		var n int
		var fin int64
		if err := rows.Scan(&status, &n, &fin); err != nil {
			return st, fmt.Errorf("automation: stats of bundle %d: %w", bundleID, err)
		}
		st.ByStatus[status] = n
		st.Total += n
		switch status {
		case StatusQueued, StatusRunning, StatusWaiting:
			st.Open += n
		}
		last = max(last, fin)
	}
	st.LastFinishedAt = optTime(last)
	return st, rows.Err()
}
