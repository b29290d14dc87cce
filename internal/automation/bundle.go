package automation

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/obmen/obmen/internal/automation/tmpl"
)

// Definition is a bundle as the API takes it and export writes it.
type Definition struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Active      bool           `json:"active"`
	Trigger     TriggerSpec    `json:"trigger"`
	Filters     tmpl.Condition `json:"filters,omitzero"`
	Steps       []Step         `json:"steps"`
	// SelfTrigger lets the bundle's own changes trigger it again.
	SelfTrigger bool `json:"self_trigger,omitempty"`
	// MaxDepth stops a chain of bundles triggering each other at this
	// depth (0: DefaultMaxDepth).
	MaxDepth int `json:"max_depth,omitempty"`
	// Concurrency is how many runs of the bundle may run at once (0: as
	// many as the workers take).
	Concurrency int `json:"concurrency,omitempty"`
	// OrderKey, a template over the trigger data known when the run is
	// made (for a CRM event: trigger.event), makes the runs with the same
	// key run one after another, in the order they were made.
	OrderKey string `json:"order_key,omitempty"`
	// MaxAttempts bounds the attempts of a step that fails transiently
	// (0: DefaultMaxAttempts).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// RunAs is the user whose name the bundle's CRM changes carry (0: the
	// administrator who made the bundle).
	RunAs int64 `json:"run_as_user_id,omitempty"`
}

// Defaults.
const (
	DefaultMaxDepth    = 5
	DefaultMaxAttempts = 5
	// MaxSteps bounds a bundle's chain.
	MaxSteps = 100
)

// TriggerSpec is what starts a bundle.
type TriggerSpec struct {
	Type string `json:"type"`
	// crm.event (and manual: the entity whose cards show "Run").
	Entity    string         `json:"entity,omitempty"`
	Actions   []string       `json:"actions,omitempty"`
	Fields    []string       `json:"fields,omitempty"`
	ChangedTo map[string]any `json:"changed_to,omitempty"`
	// schedule: a cron expression (5 fields, or @daily, @every 1h…) and
	// its time zone (default Europe/Moscow).
	Cron string `json:"cron,omitempty"`
	TZ   string `json:"tz,omitempty"`
	// Connection and Options are for connectors' triggers.
	Connection int64          `json:"connection,omitempty"`
	Options    map[string]any `json:"options,omitempty"`
}

// Step is one link of the chain.
type Step struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Action     string      `json:"action"`
	Input      any         `json:"input,omitempty"`
	Duplicates *Duplicates `json:"duplicates,omitempty"`
	// Connection is the id of the saved connection (internal/connection)
	// the step's action works through.
	Connection int64           `json:"connection,omitempty"`
	OnError    string          `json:"on_error,omitempty"`
	When       *tmpl.Condition `json:"when,omitempty"`
}

// On error.
const (
	OnErrorStop     = "stop"
	OnErrorContinue = "continue"
)

// Bundle is a stored bundle: its current definition and state.
type Bundle struct {
	ID         int64      `json:"id"`
	Version    int        `json:"version"`
	Definition            // the current version
	WebhookURL string     `json:"webhook_url,omitempty"`
	NextFireAt *time.Time `json:"next_fire_at,omitempty"`
	CreatedBy  int64      `json:"created_by_id"`
	UpdatedBy  int64      `json:"updated_by_id"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// Stats, filled by the list.
	LastRunAt *time.Time `json:"last_run_at,omitempty"`
	LastRun   string     `json:"last_run_status,omitempty"`
	Errors24h int        `json:"errors_24h"`
}

// Built-in trigger types.
const (
	TriggerCRMEvent = "crm.event"
	TriggerSchedule = "schedule"
	TriggerWebhook  = "webhook"
	TriggerManual   = "manual"
)

// TriggerKind is a kind of trigger. The built-in ones are served by the
// engine itself; a connector's trigger gives Poll (the engine polls it),
// Push (the engine serves the connection's hook URL) or both.
type TriggerKind struct {
	Type  string
	Group string
	// Data describes the trigger data (trigger.*) for the value picker.
	Data []Field
	// Connection is the connection types a bundle's trigger of this kind
	// takes ("retailcrm", "a|b" as for actions); "" none. A kind with a
	// connection type needs trigger.connection set to one of that type.
	Connection string
	// Options describe trigger.options (as an action's input is
	// described: labels from the messages "trigger.<type>.options.<name>",
	// checked on save). A kind with Poll takes the option "interval"
	// (seconds) as well, added when the kind does not declare it.
	Options []Field
	// Validate checks the rest of the trigger's settings.
	Validate func(spec TriggerSpec) []Problem
	// Poll, for polling triggers: items after cursor (an opaque string the
	// kind owns; "" the first time) and the cursor after them. Every says
	// how often to poll (a bundle's option "interval" overrides it, down
	// to MinEvery, 10 s when zero). An item's Key must be unique and
	// stable: it is what makes a poll repeated after a crash produce no
	// second run; the same item pushed has the same key (one run).
	Poll     func(ctx context.Context, b *Bundle, cursor string) (items []Item, next string, err error)
	Every    time.Duration
	MinEvery time.Duration
	// Push, for kinds the remote system pushes to: it reads a request
	// made to a connection's hook URL (POST|GET /hooks/c/{token}) into
	// items, which go to every active bundle with a trigger of this kind
	// on that connection (Service.FireConnection). An error is journalled
	// and answered 400 with its text; an *httpx.Error keeps its status.
	// A request that is the remote's echo or verification is answered by
	// setting req.Reply (and giving no items).
	Push func(ctx context.Context, req *PushRequest) ([]Item, error)
	// Events, for a kind the change-event log serves (invoice.status_changed),
	// is the crm.event trigger a bundle's trigger of this kind stands for:
	// the dispatcher runs the bundle on the changes that one takes, and
	// its runs are crm.event runs (trigger.event, trigger.record, trigger.old).
	Events func(spec TriggerSpec) TriggerSpec

	// optionsDescribed: the kind gave Options of its own (unknown ones
	// are then refused).
	optionsDescribed bool
}

// PushRequest is a request to a connection's hook URL as a trigger kind's
// Push sees it.
type PushRequest struct {
	// Connection is the connection the URL belongs to, Type its type and
	// Settings its settings with the secrets open (a signing key).
	Connection int64
	Type       string
	Settings   map[string]any
	// Request is the request; its body is already read into Body (capped;
	// Request.Body reads the same bytes again).
	Request *http.Request
	Body    []byte
	// Path is what follows the token in the URL ("events/call" of
	// /hooks/c/{token}/events/call); only a PushReceiver is sent one.
	Path string
	// Reply, set by Push, is the answer instead of the usual JSON: the
	// remote's verification handshake (status 0: 200).
	Reply *PushReply
	// PollNow, set by Push, makes the polls of the kind's bundles on this
	// connection due at once: for remotes whose push says only "something
	// changed" (a webhook naming the record, not its state), the poll
	// reads what changed, so the push needs no reads of its own and is
	// answered at once, and push and poll cannot disagree.
	PollNow bool
}

// PushReply is a kind's own answer to a push request.
type PushReply struct {
	Status      int
	ContentType string
	Body        []byte
}

// Item is one thing a trigger produced: its key (unique per bundle) and
// its data (trigger.* in templates).
type Item struct {
	Key  string
	Data map[string]any
	// OrderKey, when set, overrides the bundle's.
	OrderKey string
}

// MarshalDefinition is the definition's canonical JSON.
func MarshalDefinition(d Definition) ([]byte, error) { return json.Marshal(d) }
