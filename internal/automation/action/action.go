// Package action holds the actions Obmen itself gives bundles: the CRM's
// records (create, update, get, find, delete, product rows, converting a
// lead, timeline comments, activities, moving a deal), HTTP requests and
// signed webhooks, and the flow of a run (a pause, a stop).
//
// Every writer is safe to retry: a create is made once per the step's
// idempotency key (Call.Key), an update that changes nothing logs
// nothing, a delete of a record already in the recycle bin succeeds. In
// test mode (Call.DryRun) a writer reads what it needs and returns what it
// would send (automation.Preview) instead of writing.
package action

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Groups of the actions in the editor's list.
const (
	GroupCRM  = "crm"
	GroupHTTP = "http"
	GroupFlow = "flow"
)

// Deps is what the actions work with.
type Deps struct {
	Store *store.Store
	// HTTP sends http.request and webhook.send; it must be the SSRF-guarded
	// client of httpx.NewOutboundClient.
	HTTP *http.Client
	Now  func() time.Time
	// PublicURL is how others reach this server (config BaseURL): the
	// links of invoices' public pages start with it.
	PublicURL string
}

// Register adds every action of this package, and its labels, to reg.
func Register(reg *automation.Registry, d Deps) error {
	if d.Store == nil {
		return errors.New("action: Deps.Store is required")
	}
	if d.HTTP == nil {
		return errors.New("action: Deps.HTTP is required (httpx.NewOutboundClient)")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("action: %w", err)
	}
	if err := reg.AddTrigger(invoiceStatusChanged()); err != nil {
		return err
	}
	return reg.Add(actions(d)...)
}

// actions lists the actions of this package.
func actions(d Deps) []automation.Action {
	var out []automation.Action
	out = append(out, crmActions(d)...)
	out = append(out, bookingActions(d)...)
	out = append(out, userInfoAction(d), httpRequest(d), webhookSend(d), delay(d), stop())
	out = append(out, invoiceFromDeal(d), invoiceStatus(d))
	return out
}

// typed is an action whose input decodes into In. Its description is
// made from In and a declared output type, while run may return either
// that output or, in test mode, a Preview.
type typed[In any] struct {
	desc automation.Description
	run  func(ctx context.Context, c *automation.Call, in In) (any, error)
}

// define describes an action by its input In and its output Out.
func define[In, Out any](spec automation.Spec, run func(ctx context.Context, c *automation.Call, in In) (any, error)) *typed[In] {
	return &typed[In]{desc: describe[In, Out](spec), run: run}
}

func describe[In, Out any](spec automation.Spec) automation.Description {
	d := automation.Define(spec, func(context.Context, *automation.Call, In) (Out, error) {
		var out Out
		return out, nil
	}).Describe()
	refine(d.Input, reflect.TypeFor[In]())
	refine(d.Output, reflect.TypeFor[Out]())
	return d
}

func (a *typed[In]) Describe() automation.Description { return a.desc }

func (a *typed[In]) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	in, err := automation.DecodeInput[In](input, a.desc)
	if err != nil {
		return nil, err
	}
	out, err := a.run(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return automation.ToValue(out)
}

// raw is an action that needs its input as given (a record's fields,
// of which it must know which were sent).
type raw struct {
	desc automation.Description
	run  func(ctx context.Context, c *automation.Call, in map[string]any) (any, error)
}

func (a *raw) Describe() automation.Description { return a.desc }

func (a *raw) Run(ctx context.Context, c *automation.Call, input any) (any, error) {
	if input == nil {
		input = map[string]any{}
	}
	m, ok := input.(map[string]any)
	if !ok {
		return nil, automation.InputErrorf("", "the input must be an object")
	}
	for _, f := range a.desc.Input {
		if f.Required && isEmpty(m[f.Name]) {
			return nil, automation.InputErrorf(f.Name, "required")
		}
	}
	out, err := a.run(ctx, c, m)
	if err != nil {
		return nil, err
	}
	if v, ok := out.(valueForm); ok {
		return map[string]any(v), nil
	}
	return automation.ToValue(out)
}

// valueForm is an output already in the JSON-like form: converting it
// again would turn a decimal such as 3001.00 into the integer 3001.
type valueForm map[string]any

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// redacting adds a Redactor to an action.
type redacting struct {
	automation.Action
	redact func(any) any
}

func (r redacting) Redact(input any) any { return r.redact(input) }

// NotFoundError is a record a step names that does not exist, or is in
// the recycle bin where a live one is needed. It is not retried.
type NotFoundError struct {
	Entity string
	ID     int64
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %d not found", entityWords(e.Entity), e.ID)
}

// Is makes errors.Is(err, store.ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == store.ErrNotFound }

func entityWords(entity string) string { return strings.ReplaceAll(entity, "_", " ") }

// fail sorts a store's error for the engine: a field the CRM refused is
// the input's fault (never retried); a missing, forbidden or conflicting
// record will stay so; anything else — the database busy or gone — is
// worth another attempt.
func fail(err error) error {
	var ie *automation.InputError
	var te *automation.TransientError
	var nf *NotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie), errors.As(err, &te), errors.As(err, &nf):
		return err
	}
	if fe, ok := crm.AsFieldError(err); ok {
		return &automation.InputError{Field: fe.Field, Message: fe.Message}
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrForbidden) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, context.Canceled) {
		return err
	}
	return automation.Transient(err, 0)
}

// failOn is fail for a write on one record: its absence is named.
func failOn(err error, entity string, id int64) error {
	var nf *NotFoundError
	if err != nil && errors.Is(err, store.ErrNotFound) && !errors.As(err, &nf) {
		if _, isField := crm.AsFieldError(err); !isField {
			return &NotFoundError{Entity: entity, ID: id}
		}
	}
	return fail(err)
}

func logger(c *automation.Call) *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

func nowOf(c *automation.Call, d Deps) time.Time {
	if c.Now != nil {
		return c.Now()
	}
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
