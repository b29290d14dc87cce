// Package moysklad connects Obmen to МойСклад through its JSON API 1.2
// (github.com/moysklad/api-remap-1.2-doc): the moysklad connection type
// (a login and password or a token), the actions that create
// counterparties and customer orders and change orders, the trigger
// moysklad.customerorder.changed (a reconciliation poll on "updated",
// and the webhook's push parsed by ParseWebhook), and the calls that
// register МойСклад's webhook (entity/webhook).
//
// The client (client.go) asks for gzip always, as the API requires,
// keeps one request budget per account (a token bucket and a cap on the
// parallel requests) and honours the X-Lognex-* and X-RateLimit-*
// headers, so that a backlog never floods the account with 429s
// (МойСклад switches the API off for a user who gets 200 of them in a
// minute).
package moysklad

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type, the group, the actions and the trigger.
const (
	Type                 = "moysklad"
	Group                = "moysklad"
	ActionCounterparty   = "moysklad.counterparty.create"
	ActionOrderCreate    = "moysklad.customerorder.create"
	ActionOrderUpdate    = "moysklad.customerorder.update"
	TriggerOrderChanged  = "moysklad.customerorder.changed"
	defaultPollInterval  = time.Minute
	entityCounterparty   = "entity/counterparty"
	entityCustomerOrder  = "entity/customerorder"
	entityOrganization   = "entity/organization"
	entityWebhook        = "entity/webhook"
	customerOrderMetaURL = "entity/customerorder/metadata"
)

// Deps is what the connector works with.
type Deps struct {
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP  *http.Client
	Conns *connection.Store
	// Budgets are the per-account request budgets (nil: DefaultLimits).
	Budgets *Budgets
	// Every is how often the trigger polls (0: a minute).
	Every time.Duration
	// DB, when set, locks a counterparty's phone and e-mail while it is
	// looked for and created, so that two runs at once (on any instance)
	// make one.
	DB *db.DB
}

func (d Deps) client(a Account) *Client {
	return &Client{Account: a, HTTP: d.HTTP, Budgets: d.Budgets}
}

// Register adds the moysklad connection type, its actions and trigger.
func Register(conns *connection.Registry, reg *automation.Registry, d Deps) error {
	if d.HTTP == nil || d.Conns == nil {
		return errors.New("moysklad: Deps.HTTP and Conns are required")
	}
	if d.Budgets == nil {
		d.Budgets = NewBudgets(Limits{})
	}
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("moysklad: %w", err)
	}
	if err := conns.Add(ConnectionType(d.HTTP, d.Budgets)); err != nil {
		return err
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("moysklad: %w", err)
	}
	if err := reg.Add(CounterpartyAction(d), OrderCreateAction(d), OrderUpdateAction(d)); err != nil {
		return err
	}
	return reg.AddTrigger(OrderChangedTrigger(d))
}

// ConnectionType is the moysklad connection type.
func ConnectionType(hc *http.Client, bs *Budgets) connection.Type {
	return connection.Type{
		Name: Type,
		Fields: []connection.Field{
			{Name: "login", Type: connection.String},
			{Name: "password", Type: connection.String, Secret: true},
			{Name: "token", Type: connection.String, Secret: true},
			{Name: "url", Type: connection.String, Default: OfficialURL},
		},
		Validate: func(s connection.Settings) []connection.Problem { return AccountOf(s).Problems() },
		Check: func(ctx context.Context, s connection.Settings) error {
			return (&Client{Account: AccountOf(s), HTTP: hc, Budgets: bs}).Check(ctx)
		},
		Refresh: func(ctx context.Context, s connection.Settings) (map[string]any, error) {
			return (&Client{Account: AccountOf(s), HTTP: hc, Budgets: bs}).Refresh(ctx)
		},
	}
}

// Check reads the employee the credentials belong to: an authenticated
// call that changes nothing. A failure is classed for the message.
func (c *Client) Check(ctx context.Context) error {
	err := c.Do(ctx, http.MethodGet, "context/employee", nil, nil, nil)
	return classify(err)
}

// classify marks an API error with the check's class.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *RateLimited
	if errors.As(err, &rl) {
		return connection.Fail(connection.ClassRateLimited, err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return connection.Fail(ae.Class(), err)
	}
	return err
}

// Refresh loads what a user maps to: the organizations (юрлица), the
// customer orders' states and custom attributes (their metadata hrefs).
func (c *Client) Refresh(ctx context.Context) (map[string]any, error) {
	orgs, err := c.ListAll(ctx, entityOrganization, nil, 1000, 0)
	if err != nil {
		return nil, classify(err)
	}
	var meta struct {
		Attributes []struct {
			Meta     Meta   `json:"meta"`
			ID       string `json:"id"`
			Name     string `json:"name"`
			Type     string `json:"type"`
			Required bool   `json:"required"`
		} `json:"attributes"`
		States []struct {
			Meta      Meta   `json:"meta"`
			ID        string `json:"id"`
			Name      string `json:"name"`
			StateType string `json:"stateType"`
		} `json:"states"`
	}
	if err := c.Do(ctx, http.MethodGet, customerOrderMetaURL, nil, nil, &meta); err != nil {
		return nil, classify(err)
	}
	organizations := make([]any, 0, len(orgs))
	for _, o := range orgs {
		organizations = append(organizations, map[string]any{"id": o["id"], "name": o["name"], "href": hrefOf(o)})
	}
	states := make([]any, 0, len(meta.States))
	for _, s := range meta.States {
		states = append(states, map[string]any{"id": s.ID, "name": s.Name, "href": s.Meta.Href, "state_type": s.StateType})
	}
	attrs := make([]any, 0, len(meta.Attributes))
	for _, a := range meta.Attributes {
		attrs = append(attrs, map[string]any{"id": a.ID, "name": a.Name, "type": a.Type, "href": a.Meta.Href, "required": a.Required})
	}
	return map[string]any{"organizations": organizations, "states": states, "attributes": attrs}, nil
}

// Webhook is МойСклад's webhook entity (md/dictionaries/_webhook.md).
type Webhook struct {
	Meta       *Meta  `json:"meta,omitempty"`
	ID         string `json:"id,omitempty"`
	URL        string `json:"url"`
	Action     string `json:"action"`
	EntityType string `json:"entityType"`
	DiffType   string `json:"diffType,omitempty"`
	Method     string `json:"method,omitempty"`
	Enabled    bool   `json:"enabled"`
}

// CreateWebhook registers target for the UPDATE of customer orders, with
// the changed fields listed (diffType FIELDS).
func (c *Client) CreateWebhook(ctx context.Context, target string) (Webhook, error) {
	in := Webhook{URL: target, Action: "UPDATE", EntityType: "customerorder", DiffType: "FIELDS", Method: "POST", Enabled: true}
	var out Webhook
	err := c.Do(ctx, http.MethodPost, entityWebhook, nil, in, &out)
	return out, err
}

// Webhooks lists the account's webhooks made through API 1.2.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	for offset := 0; ; {
		var page struct {
			Meta Meta      `json:"meta"`
			Rows []Webhook `json:"rows"`
		}
		q := url.Values{"limit": {"1000"}, "offset": {fmt.Sprint(offset)}}
		if err := c.Do(ctx, http.MethodGet, entityWebhook, q, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Rows...)
		offset += len(page.Rows)
		if len(page.Rows) == 0 || offset >= page.Meta.Size {
			return out, nil
		}
	}
}

// DeleteWebhook removes the webhook id.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	if !isUUID(id) {
		return fmt.Errorf("moysklad: %q is not a webhook id", id)
	}
	return c.Do(ctx, http.MethodDelete, entityWebhook+"/"+id, nil, nil, nil)
}

// isUUID: ids are UUIDs; checking keeps a path from being built of
// anything else.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}
