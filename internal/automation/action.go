// Package automation runs bundles ("связки"): a trigger, filters, and an
// ordered chain of steps, each an action whose input is JSON with
// templates filled from the trigger and from earlier steps.
//
// The parts:
//   - actions and triggers are typed units described once (action.go,
//     describe.go) and registered explicitly in a Registry (registry.go);
//     the CRM's own, HTTP and flow actions live in automation/action,
//     connectors (internal/connector/…) add theirs;
//   - a bundle's definition (bundle.go) is validated against the registry
//     when saved (validate.go) and stored with every version (bundles.go);
//   - triggers produce runs: the change-event log by a cursor per bundle
//     (dispatch.go), schedules (schedule.go), webhooks (hook.go), a user's
//     "Run" (manual); each item becomes a run row, unique per bundle and
//     trigger key, and a River job in the same transaction;
//   - the worker (engine.go) runs a run's steps in order, recording each
//     as it finishes, so that a run resumes after a crash from the first
//     unfinished step; writes are made idempotent by a key derived from
//     the run and the step.
package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/i18n"
)

// Action is one kind of step. Most are built with Define from a typed
// function; the engine sees them through this interface.
type Action interface {
	// Describe tells what the action is, takes and returns.
	Describe() Description
	// Run does the action. input is the step's rendered input (JSON-like:
	// maps, lists, strings, int64, float64, bool, nil); output is returned
	// in the same form, for later steps and the journal.
	Run(ctx context.Context, c *Call, input any) (output any, err error)
}

// Description is what the API, the editor and the validator know of an
// action: generated from its input and output types (describe.go), with
// labels from the message files (i18n).
type Description struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Label Text   `json:"label"`
	Hint  Text   `json:"hint,omitzero"`
	// Input and Output are the fields; Output of a CRM action is the
	// record as the REST API returns it.
	Input  []Field `json:"input"`
	Output []Field `json:"output"`
	// Writes says the action changes something (a CRM record, a remote
	// system, a message sent): in test mode it is not run, and a retry
	// relies on the idempotency key of its Call.
	Writes bool `json:"writes"`
	// Duplicates lists the keys a step of this action may name in
	// "duplicates.by" (phone, email, inn, external_id, name); empty when
	// the action has no duplicate handling.
	Duplicates []string `json:"duplicates,omitempty"`
	// Entity is the CRM entity the action works on, if any (the value
	// picker shows its fields for the output).
	Entity string `json:"entity,omitempty"`
	// FreeInput: the input is any JSON (http.request's body, a remote
	// record with custom fields): unknown fields are not refused.
	FreeInput bool `json:"free_input,omitempty"`
	// Connection is the type of saved connection a step of this action
	// names by id in its "connection" (internal/connection), if any;
	// several types separated by "|" (call.callback: "zadarma|asterisk|mango").
	Connection string `json:"connection,omitempty"`
	// Exports is the CRM entity whose card offers the action as a button
	// for each connection of its type ("Отправить в Битрикс24" on an
	// account), shown while the record has no id in that connection's
	// system (connection.Type.System); the input is {"connection": id,
	// "<entity>_id": the record's id}.
	Exports string `json:"exports,omitempty"`
}

// Text is a label in each language of the interface.
type Text = i18n.Text

// Field is one input or output field. Types: string, integer, number,
// decimal (a string holding a decimal), boolean, date (YYYY-MM-DD),
// datetime (RFC 3339), object (Fields), list (Item), any.
type Field struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Fields   []Field  `json:"fields,omitempty"`
	Item     *Field   `json:"item,omitempty"`
	// Secret: the value is a password or token — sealed in the stored
	// definition, shown as a mask, never written to the journal.
	Secret bool `json:"secret,omitempty"`
	Label  Text `json:"label"`
	Hint   Text `json:"hint,omitzero"`
}

// Call is what a step's run knows of its place: the run, the step, who
// acts, and whether this is a test.
type Call struct {
	RunID    int64
	BundleID int64
	StepID   string
	Attempt  int
	// Actor makes the step's CRM changes: the bundle, on behalf of the
	// user it runs as, naming the run.
	Actor crm.Actor
	// DryRun is test mode: the action must not change anything; one that
	// writes returns what it would send instead (Preview).
	DryRun bool
	// Fresh says this step of this run has certainly not been tried
	// before (the run started in this very job): an action may skip
	// looking for what an earlier attempt made under Key.
	Fresh bool
	// Duplicates is the step's duplicate handling, nil when it has none.
	Duplicates *Duplicates
	// Connection is the saved connection the step names (0: none).
	Connection int64
	Log        *slog.Logger
	Now        func() time.Time

	wait   time.Time
	stop   *stopAt
	dedupe string
}

// Key is the idempotency key of this step of this run, the same on every
// attempt: a write made with it is made once, however often the step is
// retried (a retry after a crash finds what the first attempt created).
func (c *Call) Key() string {
	if c.dedupe != "" {
		return c.dedupe
	}
	return "automation:run:" + strconv.FormatInt(c.RunID, 10) + ":step:" + c.StepID
}

// WaitUntil makes the run wait (status "waiting") and continue with the
// next step at t: the delay action. Durable: the wait is a job scheduled
// in the database.
func (c *Call) WaitUntil(t time.Time) { c.wait = t }

// Stop ends the run after this step with result ("ok" or "error") and a
// message: the stop action.
func (c *Call) Stop(result, message string) { c.stop = &stopAt{result: result, message: message} }

type stopAt struct{ result, message string }

// Preview is the output of a writing action in test mode: what it would
// have sent.
type Preview struct {
	DryRun bool `json:"dry_run"`
	// Would names the operation ("create contact", "POST https://…").
	Would string `json:"would"`
	// Send is the data it would send.
	Send any `json:"send"`
}

// Duplicates is a step's duplicate handling: look for an existing record
// by these keys, then create anyway, skip (the found record is the
// step's output) or update it with the step's input.
type Duplicates struct {
	By   []string `json:"by"`
	Then string   `json:"then"`
}

// Duplicate handling choices.
const (
	DupCreate = "create"
	DupSkip   = "skip"
	DupUpdate = "update"
)

// TransientError is a failure worth retrying: a timeout, a 5xx, a 429.
// RetryAfter, when set, is how long the remote side asked to wait.
type TransientError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Transient marks err as worth retrying after retryAfter (0: the
// engine's backoff).
func Transient(err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &TransientError{Err: err, RetryAfter: retryAfter}
}

// IsTransient reports whether err is worth retrying: marked so, or a
// deadline passed.
func IsTransient(err error) (bool, time.Duration) {
	var t *TransientError
	if errors.As(err, &t) {
		return true, t.RetryAfter
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true, 0
	}
	return false, 0
}

// InputError is an input that does not fit the action: a field of the
// wrong type, a required one missing. Never retried.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// InputErrorf builds an InputError.
func InputErrorf(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Records reads CRM records as the REST API returns them (the JSON-like
// form of ToValue): the trigger's record, a manual run's record. The
// CRM actions package provides it over the store.
type Records interface {
	// Record returns the record, live or in the recycle bin; an error
	// wrapping store.ErrNotFound when there is none.
	Record(ctx context.Context, entity string, id int64) (map[string]any, error)
}

// Redactor is an action that hides parts of its rendered input before
// the journal keeps it, beyond its Secret fields (an Authorization
// header among free-form headers).
type Redactor interface {
	Redact(input any) any
}

// ManyRecords is Records that also reads many records of one entity at
// once (missing ids left out): the dispatcher uses it for a batch of
// changes.
type ManyRecords interface {
	Many(ctx context.Context, entity string, ids []int64) (map[int64]map[string]any, error)
}

// ZeroRecords is Records that also gives an entity's empty record (every
// field at its zero value, as the REST API writes it): the dispatcher
// judges a creation's filters on it and the creation's event.
type ZeroRecords interface {
	Zero(entity string) (map[string]any, bool)
}

// OutputError is a failure that still has an output: seed 003's actions
// answer "false" and the error text in their output, which the journal
// and the API show beside the error.
type OutputError struct {
	Err    error
	Output any
}

func (e *OutputError) Error() string { return e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }

// FailWith is err with the output the action still gives.
func FailWith(err error, output any) error {
	if err == nil {
		return nil
	}
	return &OutputError{Err: err, Output: output}
}

// errorOutput is the output a failed action gave with its error, nil
// when none.
func errorOutput(err error) any {
	var oe *OutputError
	if errors.As(err, &oe) {
		return oe.Output
	}
	return nil
}
