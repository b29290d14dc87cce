package automation

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/httpx"
	"github.com/obmen/obmen/internal/store"
)

// CallResponse is the answer of a direct call of an action (POST
// /api/v1/actions/{name}): OK or ERROR, the error text, and the output
// the action gave (an empty object when none).
type CallResponse struct {
	Result string `json:"result"`
	Error  string `json:"error"`
	// Field names the input field at fault when the input was refused.
	Field  string `json:"field,omitempty"`
	Output any    `json:"output"`
}

// CallRequest is one direct call: who calls (the action runs as that
// user, within the record access ctx carries), the action, its input as
// the request's JSON body, and the caller's Idempotency-Key ("" none).
type CallRequest struct {
	User    crm.User
	Actor   crm.Actor
	Action  string
	Body    []byte
	IdemKey string
}

// CallAnswer is a direct call's HTTP status and body; Replayed says it
// was the stored answer of an earlier call with the same Idempotency-Key.
// Status 400 is an input the action refused: Response names the field
// and the error, which the API answers in its error envelope.
type CallAnswer struct {
	Status   int
	Response CallResponse
	Replayed bool
}

// CallAction runs an action directly, as a bundle step would run it, and
// journals the call. Errors are what the API answers as they are: 403
// without the "actions" permission, 404 for an unknown action, 400 for a
// malformed body or an input that does not fit the action's description,
// 422 for an Idempotency-Key reused with another request. An action that
// ran and failed is an answer (200, result ERROR), not an error.
func (s *Service) CallAction(ctx context.Context, req CallRequest) (CallAnswer, error) {
	ok, err := s.store.HasPermission(ctx, req.User, store.PermActions)
	if err != nil {
		return CallAnswer{}, err
	}
	if !ok {
		return CallAnswer{}, httpx.Errorf(http.StatusForbidden, "forbidden", "",
			"calling actions needs the %q permission, which an administrator grants", store.PermActions)
	}
	a, ok := s.reg.Action(req.Action)
	if !ok {
		return CallAnswer{}, httpx.Errorf(http.StatusNotFound, "not_found", "name", "unknown action %q", req.Action)
	}
	if len(req.IdemKey) > 255 {
		return CallAnswer{}, httpx.Errorf(http.StatusBadRequest, "bad_request", "Idempotency-Key", "must have 1 to 255 characters")
	}
	var input any = map[string]any{}
	if strings.TrimSpace(string(req.Body)) != "" {
		v, err := DecodeValue(req.Body)
		if err != nil {
			return CallAnswer{}, httpx.Errorf(http.StatusBadRequest, "bad_request", "", "the body is not JSON: %s", strings.TrimPrefix(err.Error(), "automation: decode value: "))
		}
		input = v
	}
	hash := callHash(req.Action, req.Body)
	if req.IdemKey != "" {
		if ans, found, err := s.storedCall(ctx, req.User.ID, req.IdemKey, hash); found || err != nil {
			return ans, err
		}
	}
	desc := a.Describe()
	start := time.Now()
	started := s.now()
	var ans CallAnswer
	if ps := checkInputShape("", desc, input); len(ps) > 0 {
		field := strings.TrimPrefix(strings.TrimPrefix(ps[0].Field, "input"), ".")
		ans = CallAnswer{Status: http.StatusBadRequest,
			Response: CallResponse{Result: ResultError, Field: field, Error: fieldMessage(field, ps[0].Message), Output: map[string]any{}}}
	} else {
		call := &Call{Actor: req.Actor, StepID: "api", Attempt: 1, Log: s.log, Now: s.now, Fresh: req.IdemKey == ""}
		if req.IdemKey != "" {
			// A repeat after a lost answer finds what the first call made.
			call.dedupe = "automation:api:user:" + strconv.FormatInt(req.User.ID, 10) + ":key:" + req.IdemKey
		} else {
			call.dedupe = "automation:api:" + randomKey()
		}
		sctx, cancel := context.WithTimeout(ctx, s.stepTimeout)
		out, err := safeRun(sctx, a, call, input)
		cancel()
		ans = callAnswer(out, err)
	}
	dur := time.Since(start)
	resp, err := json.Marshal(ans.Response)
	if err != nil {
		return CallAnswer{}, fmt.Errorf("automation: call %s: %w", req.Action, err)
	}
	var output []byte
	if ans.Response.Output != nil {
		output = mustJSON(ans.Response.Output)
	}
	id, err := s.journalCall(ctx, callRow{action: req.Action, userID: req.User.ID, keyID: req.Actor.KeyID, idemKey: req.IdemKey,
		hash: hash, result: ans.Response.Result, input: mustJSON(redactInput(a, input)), output: output, err: ans.Response.Error,
		status: ans.Status, response: resp, started: started, dur: dur})
	if err != nil {
		return CallAnswer{}, err
	}
	if id == 0 && req.IdemKey != "" {
		// Another call with the same key was journaled first: its answer
		// is the one.
		if prev, found, err := s.storedCall(ctx, req.User.ID, req.IdemKey, hash); found || err != nil {
			return prev, err
		}
	}
	return ans, nil
}

// callAnswer is the answer to an action's outcome.
func callAnswer(out any, err error) CallAnswer {
	if err == nil {
		if out == nil {
			out = map[string]any{}
		}
		return CallAnswer{Status: http.StatusOK, Response: CallResponse{Result: ResultOK, Output: out}}
	}
	output := errorOutput(err)
	if output == nil {
		output = map[string]any{}
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return CallAnswer{Status: http.StatusBadRequest, Response: CallResponse{Result: ResultError, Field: ie.Field, Error: err.Error(), Output: output}}
	}
	return CallAnswer{Status: http.StatusOK, Response: CallResponse{Result: ResultError, Error: err.Error(), Output: output}}
}

func fieldMessage(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}

func callHash(action string, body []byte) string {
	h := sha256.New()
	h.Write([]byte("POST /api/v1/actions/" + action + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// storedCall is the answer of an earlier call with this Idempotency-Key.
func (s *Service) storedCall(ctx context.Context, userID int64, key, hash string) (CallAnswer, bool, error) {
	var prevHash, resp string
	var status int
	err := s.db.Read.QueryRowContext(ctx, `SELECT request_hash, http_status, response FROM automation_action_calls
		WHERE user_id = $1 AND idem_key = $2`, userID, key).Scan(&prevHash, &status, &resp)
	if errors.Is(err, sql.ErrNoRows) {
		return CallAnswer{}, false, nil
	}
	if err != nil {
		return CallAnswer{}, true, fmt.Errorf("automation: idempotency key: %w", err)
	}
	if prevHash != hash {
		return CallAnswer{}, true, httpx.Errorf(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key", "this key was used with a different request")
	}
	ans := CallAnswer{Status: status, Replayed: true}
	v, err := DecodeValue([]byte(resp))
	if err != nil {
		return CallAnswer{}, true, fmt.Errorf("automation: stored answer: %w", err)
	}
	m, _ := v.(map[string]any)
	ans.Response.Result, _ = m["result"].(string)
	ans.Response.Error, _ = m["error"].(string)
	ans.Response.Field, _ = m["field"].(string)
	ans.Response.Output = m["output"]
	return ans, true, nil
}

type callRow struct {
	action, idemKey, hash, result, err string
	userID, keyID                      int64
	input, output, response            []byte
	status                             int
	started                            time.Time
	dur                                time.Duration
}

// journalCall writes a call's row; 0 when a call with the same
// Idempotency-Key was journaled first.
func (s *Service) journalCall(ctx context.Context, c callRow) (int64, error) {
	var id int64
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO automation_action_calls (action, user_id, key_id, idem_key, request_hash, result,
			input, output, error, http_status, response, started_at, duration_us)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING RETURNING id`,
			c.action, c.userID, c.keyID, c.idemKey, c.hash, c.result, string(c.input), string(c.output), c.err, c.status,
			string(c.response), c.started.UnixMicro(), c.dur.Microseconds()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("automation: journal the call of %s: %w", c.action, err)
	}
	return id, nil
}

// Sources of the action-call journal.
const (
	SourceAPI    = "api"
	SourceBundle = "bundle"
)

// ActionCall is one call of an action in the journal: a direct call
// (source api) or a bundle's step attempt (source bundle).
type ActionCall struct {
	Source     string    `json:"source"`
	ID         int64     `json:"id"`
	Action     string    `json:"action"`
	Result     string    `json:"result"`
	Input      any       `json:"input"`
	Output     any       `json:"output"`
	Error      string    `json:"error"`
	UserID     int64     `json:"user_id,omitempty"`
	KeyID      int64     `json:"key_id,omitempty"`
	BundleID   int64     `json:"bundle_id,omitempty"`
	RunID      int64     `json:"run_id,omitempty"`
	StepID     string    `json:"step_id,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
}

// CallQuery selects calls for the journal, newest first.
type CallQuery struct {
	Action string
	Result string
	// Source: api, bundle, or "" both.
	Source string
	// Before pages: the NextBefore of the previous page.
	Before string
	Limit  int
}

// CallList is a page of the action-call journal.
type CallList struct {
	Items      []ActionCall `json:"items"`
	NextBefore string       `json:"next_before"`
}

// ListCalls returns a page of the action-call journal: direct calls and
// bundle steps together, newest first.
func (s *Service) ListCalls(ctx context.Context, q CallQuery) (CallList, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	switch q.Source {
	case "", SourceAPI, SourceBundle:
	default:
		return CallList{}, httpx.Errorf(http.StatusBadRequest, "bad_request", "source", "%q is not api or bundle", q.Source)
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var apiWhere, stepWhere []string
	if q.Action != "" {
		a := arg(q.Action)
		apiWhere = append(apiWhere, "c.action = "+a)
		stepWhere = append(stepWhere, "s.action = "+a)
	}
	if q.Result != "" {
		a := arg(strings.ToUpper(q.Result))
		apiWhere = append(apiWhere, "c.result = "+a)
		stepWhere = append(stepWhere, "s.status = "+a)
	}
	var parts []string
	if q.Source != SourceBundle {
		sqlText := `SELECT 'api' AS src, c.id AS id, c.action, c.result, c.input, c.output, c.error, c.user_id, c.key_id,
			0 AS bundle_id, 0 AS run_id, '' AS step_id, 0 AS attempt, c.started_at AS started_at, c.duration_us
			FROM automation_action_calls c`
		if len(apiWhere) > 0 {
			sqlText += " WHERE " + strings.Join(apiWhere, " AND ")
		}
		parts = append(parts, sqlText)
	}
	if q.Source != SourceAPI {
		stepWhere = append(stepWhere, "NOT r.test")
		parts = append(parts, `SELECT 'bundle' AS src, s.id AS id, s.action, s.status, s.input, s.output, s.error, 0, 0,
			r.bundle_id, s.run_id, s.step_id, s.attempt, s.started_at AS started_at, s.duration_us
			FROM automation_run_steps s JOIN automation_runs r ON r.id = s.run_id WHERE `+strings.Join(stepWhere, " AND "))
	}
	sqlText := "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") x"
	if q.Before != "" {
		at, src, id, err := parseCallCursor(q.Before)
		if err != nil {
			return CallList{}, err
		}
		sqlText += " WHERE (started_at, src, id) < (" + arg(at) + ", " + arg(src) + ", " + arg(id) + ")"
	}
	sqlText += " ORDER BY started_at DESC, src DESC, id DESC LIMIT " + arg(q.Limit+1)
	rows, err := s.db.Read.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return CallList{}, fmt.Errorf("automation: list action calls: %w", err)
	}
	defer rows.Close()
	out := CallList{Items: []ActionCall{}}
	for rows.Next() {
		var c ActionCall
		var in, outp string
		var at, dur int64
		if err := rows.Scan(&c.Source, &c.ID, &c.Action, &c.Result, &in, &outp, &c.Error, &c.UserID, &c.KeyID,
			&c.BundleID, &c.RunID, &c.StepID, &c.Attempt, &at, &dur); err != nil {
			return out, fmt.Errorf("automation: list action calls: %w", err)
		}
		if in != "" {
			c.Input, _ = DecodeValue([]byte(in))
		}
		if outp != "" {
			c.Output, _ = DecodeValue([]byte(outp))
		}
		c.StartedAt = time.UnixMicro(at).UTC()
		c.DurationMS = float64(dur) / 1000
		out.Items = append(out.Items, c)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("automation: list action calls: %w", err)
	}
	if len(out.Items) > q.Limit {
		out.Items = out.Items[:q.Limit]
		last := out.Items[q.Limit-1]
		out.NextBefore = fmt.Sprintf("%d.%s.%d", last.StartedAt.UnixMicro(), last.Source, last.ID)
	}
	return out, nil
}

// parseCallCursor reads a NextBefore: "<started µs>.<source>.<id>".
func parseCallCursor(v string) (int64, string, int64, error) {
	parts := strings.Split(v, ".")
	bad := httpx.Errorf(http.StatusBadRequest, "bad_request", "before", "%q is not a page cursor (next_before)", v)
	if len(parts) != 3 || (parts[1] != SourceAPI && parts[1] != SourceBundle) {
		return 0, "", 0, bad
	}
	at, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", 0, bad
	}
	return at, parts[1], id, nil
}
