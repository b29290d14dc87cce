// Package bitrix24 connects Obmen to a Bitrix24 portal in the shop's seat
// (seed 002, issue 16): Obmen's orders and clients go to the portal as
// deals, contacts, companies and leads. A connection of type "bitrix24"
// holds the portal's address and either an incoming webhook (the user id
// and the webhook's code) or an OAuth application's credentials; the
// actions bitrix24.contact.upsert, .lead.create, .timeline.add,
// .company.export and .deal.upsert do the work, each a step bundles can
// use, and store the portal's ids on Obmen's records as external ids
// (system "bitrix24:<portal host>") so that a repeat updates.
//
// The wire format follows b24restdocs: POST {method}.json with the
// parameters as JSON, answers {"result", "next", "total", "time"} or
// {"error", "error_description"}, lists paged by start/next (50 a page),
// batch with cmd[key]=method?query and halt=0 (results and errors per
// key), a leaky bucket of 2 requests a second with a burst of 50 per
// portal (5/250 on Enterprise) answered 503 QUERY_LIMIT_EXCEEDED past
// it, 429 OPERATION_TIME_LIMIT when a method's time budget is spent,
// 401 NO_AUTH_FOUND for a wrong or deleted webhook and expired_token for
// an hour-old access token.
//
// The portal → Obmen direction (outgoing webhooks checked against
// app_token, the trigger bitrix24.event) plugs in beside this: the
// connection already holds app_token, and the links Obmen ↔ portal are
// the external ids Deps.Find reads.
package bitrix24

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/secret"
	"github.com/obmen/obmen/internal/store"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type and the group of actions.
const (
	Type  = "bitrix24"
	Group = "bitrix24"
)

// Which orders go (the setting "send").
const (
	SendAll       = "all"
	SendPersons   = "persons"
	SendCompanies = "companies"
)

// Classes of a failed check beyond connection's own; their messages are
// in this package's message files (connection.check.<class>).
const (
	ClassNoAuth  = "bitrix24_no_auth" // NO_AUTH_FOUND: the webhook is deleted or its code wrong
	ClassExpired = "bitrix24_expired" // the OAuth tokens are no longer valid
	ClassRights  = "bitrix24_rights"  // the webhook's user or scope lacks the rights
)

// Deps is what the connector works with.
type Deps struct {
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP  *http.Client
	Conns *connection.Store
	Store *store.Store
	// DB and Box keep the OAuth tokens (sealed).
	DB  *db.DB
	Box *secret.Box
	// BaseURL is how people reach this Obmen: links to the order in the
	// deal's comments.
	BaseURL string
	// Limiters are the per-portal buckets (nil: the process's own).
	Limiters *Limiters
	// Backoff is the first wait after a 503/429 (0: 500 ms).
	Backoff time.Duration
	// Requests counts the HTTP requests sent to portals (nil: none).
	Requests *atomic.Int64
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

var processLimiters = &Limiters{}

// buckets are the rate_buckets of each database, one per process so that
// its sweep runs once a minute, not once a client.
var buckets sync.Map // *db.DB → *store.RateBuckets

func rateBuckets(d *db.DB) *store.RateBuckets {
	if b, ok := buckets.Load(d); ok {
		return b.(*store.RateBuckets)
	}
	b, _ := buckets.LoadOrStore(d, store.NewRateBuckets(d))
	return b.(*store.RateBuckets)
}

// Register adds the connection type and the actions.
func Register(conns *connection.Registry, reg *automation.Registry, d Deps) error {
	if d.HTTP == nil || d.Conns == nil || d.Store == nil || d.DB == nil || d.Box == nil {
		return errors.New("bitrix24: Deps.HTTP, Conns, Store, DB and Box are required")
	}
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("bitrix24: %w", err)
	}
	if err := conns.Add(ConnectionType(d)); err != nil {
		return err
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("bitrix24: %w", err)
	}
	for _, a := range Actions(d) {
		if err := reg.Add(a); err != nil {
			return err
		}
	}
	return reg.AddTrigger(d.Trigger())
}

// Portal is a bitrix24 connection's settings.
type Portal struct {
	// URL is the portal's address, https://name.bitrix24.ru.
	URL    string
	UserID int64
	Code   string
	// AppToken is the outgoing webhook's application token.
	AppToken      string
	CategoryID    int64
	ResponsibleID int64
	Send          string
	Leads         bool
	// StatusMap maps Obmen's order status to a stage of CategoryID.
	StatusMap map[string]string
	// UserMap maps the portal's user ids to Obmen's (the setting
	// user_map): the deal's responsible both ways.
	UserMap    map[int64]int64
	Enterprise bool
	// OAuth application credentials, the alternative to a webhook.
	ClientID, ClientSecret, RefreshToken, OAuthURL string
	// ConnID is the saved connection the settings are of (0: settings
	// not saved, a check before "save"), Broken whether it is marked
	// broken: the client marks it on a refusal and clears it on success.
	ConnID int64
	Broken bool
}

// OAuth says the connection uses an application's tokens.
func (p Portal) OAuth() bool { return p.ClientID != "" }

// System is the external ids' system of the portal's records:
// "bitrix24:" and the portal's host (50 characters at most).
func (p Portal) System() string {
	host := p.URL
	if u, err := url.Parse(p.URL); err == nil && u.Host != "" {
		host = strings.ToLower(u.Host)
	}
	s := "bitrix24:" + host
	if len(s) > 50 {
		s = s[:50]
	}
	return s
}

// LeadSystem is the external ids' system of the leads orders and
// accounts went as: "bitrix24-lead:" and the portal's host.
func (p Portal) LeadSystem() string {
	s := "bitrix24-lead:" + strings.TrimPrefix(p.System(), "bitrix24:")
	if len(s) > 50 {
		s = s[:50]
	}
	return s
}

// Responsible is the deals' responsible user: the setting, else the
// webhook's user (seed 002).
func (p Portal) Responsible() int64 {
	if p.ResponsibleID > 0 {
		return p.ResponsibleID
	}
	return p.UserID
}

// PortalOf reads a saved connection's settings.
func PortalOf(s connection.Settings) Portal {
	p := Portal{
		URL: strings.TrimRight(strings.TrimSpace(s.String("portal_url")), "/"), UserID: s.Int("user_id"), Code: strings.TrimSpace(s.String("webhook_code")),
		AppToken: s.String("app_token"), CategoryID: s.Int("category_id"), ResponsibleID: s.Int("responsible_id"), Send: s.String("send"),
		Leads: s.Bool("leads_for_new_clients"), Enterprise: s.String("plan") == "enterprise",
		ClientID: strings.TrimSpace(s.String("client_id")), ClientSecret: s.String("client_secret"), RefreshToken: s.String("refresh_token"),
		OAuthURL: connection.BaseURL(s.String("oauth_url"), DefaultOAuthURL),
	}
	if p.Send == "" {
		p.Send = SendAll
	}
	p.StatusMap, _ = statusMap(s.String("status_map"))
	p.UserMap, _ = userMap(s.String("user_map"))
	return p
}

// statusMap reads the setting: a JSON object of Obmen status → stage id.
func statusMap(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return out, fmt.Errorf("not a JSON object of order status → deal stage, such as {\"Created\": \"NEW\"}: %v", err)
	}
	for k, v := range m {
		sv, ok := v.(string)
		if !ok || strings.TrimSpace(sv) == "" {
			return out, fmt.Errorf("status %q: the stage must be a stage id such as \"C1:NEW\"", k)
		}
		out[k] = strings.TrimSpace(sv)
	}
	return out, nil
}

// Problems checks the settings beyond the fields' description.
func (p Portal) Problems(s connection.Settings) []connection.Problem {
	var ps []connection.Problem
	if pr := connection.CheckBaseURL("portal_url", p.URL, ""); pr != nil {
		ps = append(ps, pr...)
	} else if u, _ := url.Parse(p.URL); u != nil && strings.TrimRight(u.Path, "/") != "" {
		ps = append(ps, connection.Problem{Field: "portal_url", Message: fmt.Sprintf("%q: give the portal's address alone, such as https://name.bitrix24.ru, without /rest/…", p.URL)})
	}
	if p.OAuth() {
		if p.ClientSecret == "" {
			ps = append(ps, connection.Problem{Field: "client_secret", Message: "required with client_id: the application's secret key"})
		}
		if p.RefreshToken == "" {
			ps = append(ps, connection.Problem{Field: "refresh_token", Message: "required with client_id: the refresh token the application was given"})
		}
		if pr := connection.CheckBaseURL("oauth_url", s.String("oauth_url"), DefaultOAuthURL); pr != nil {
			ps = append(ps, pr...)
		}
	} else {
		if p.UserID <= 0 {
			ps = append(ps, connection.Problem{Field: "user_id", Message: "required: the id of the user who made the webhook (the number after /rest/ in its address), or OAuth's client_id"})
		}
		if p.Code == "" {
			ps = append(ps, connection.Problem{Field: "webhook_code", Message: "required: the incoming webhook's code (the part after the user id in its address), or OAuth's client_id"})
		}
	}
	if _, err := statusMap(s.String("status_map")); err != nil {
		ps = append(ps, connection.Problem{Field: "status_map", Message: err.Error()})
	}
	if _, err := userMap(s.String("user_map")); err != nil {
		ps = append(ps, connection.Problem{Field: "user_map", Message: err.Error()})
	}
	return ps
}

// ConnectionType is the bitrix24 connection type.
func ConnectionType(d Deps) connection.Type {
	return connection.Type{
		Name: Type,
		Fields: []connection.Field{
			{Name: "portal_url", Type: connection.String, Required: true},
			{Name: "user_id", Type: connection.Integer},
			{Name: "webhook_code", Type: connection.String, Secret: true},
			{Name: "app_token", Type: connection.String, Secret: true},
			{Name: "category_id", Type: connection.Integer, Default: int64(0)},
			{Name: "responsible_id", Type: connection.Integer},
			{Name: "send", Type: connection.String, Enum: []string{SendAll, SendPersons, SendCompanies}, Default: SendAll},
			{Name: "leads_for_new_clients", Type: connection.Boolean, Default: false},
			{Name: "status_map", Type: connection.String},
			{Name: "user_map", Type: connection.String},
			{Name: "plan", Type: connection.String, Enum: []string{"standard", "enterprise"}, Default: "standard"},
			{Name: "client_id", Type: connection.String},
			{Name: "client_secret", Type: connection.String, Secret: true},
			{Name: "refresh_token", Type: connection.String, Secret: true},
			{Name: "oauth_url", Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem { return PortalOf(s).Problems(s) },
		Check: func(ctx context.Context, s connection.Settings) error {
			return d.Check(ctx, PortalOf(s))
		},
		Refresh: func(ctx context.Context, s connection.Settings) (map[string]any, error) {
			return d.Refresh(ctx, PortalOf(s))
		},
		System: func(s connection.Settings) string { return PortalOf(s).System() },
		// A check answered "wrong webhook" or "tokens expired" marks the
		// connection broken, as the same answer to an action's call does.
		BrokenClasses: []string{ClassNoAuth, ClassExpired},
	}
}

// Client is the portal's API client under its shared bucket.
func (d Deps) Client(p Portal) *Client {
	l := d.Limiters
	if l == nil {
		l = processLimiters
	}
	c := &Client{Portal: p.URL, UserID: p.UserID, Code: p.Code, HTTP: d.HTTP, Limit: l.For(p.URL, p.Enterprise), Backoff: d.Backoff, Requests: d.Requests}
	if d.DB != nil {
		c.Shared = l.Shared(rateBuckets(d.DB), p.URL, p.Enterprise)
	}
	key := p.URL + "\x00" + strconv.FormatInt(p.UserID, 10) + "\x00" + p.Code
	if p.OAuth() {
		c.Token = d.tokens(p)
		key = p.URL + "\x00oauth\x00" + p.ClientID
	}
	if p.ConnID != 0 {
		c.Watch = func(ctx context.Context, err error) { d.watch(ctx, p, err) }
	}
	c.Pack = l.PackerFor(key)
	return c
}

// Refused says the portal refuses the connection until a person acts:
// the webhook deleted or its code wrong (401 NO_AUTH_FOUND, 401
// INVALID_CREDENTIALS), the OAuth tokens no longer valid and their
// renewal refused. A limit, an outage or a missing right is not.
func Refused(err error) (*Error, bool) {
	var be *Error
	if !errors.As(err, &be) {
		return nil, false
	}
	switch {
	case be.Method == "oauth":
		return be, be.Status < 500 && be.Status != http.StatusTooManyRequests
	case be.Code == CodeNoAuth, be.Code == CodeExpired, be.Code == CodeInvalidToken, be.Code == CodeInvalidGrant:
		return be, true
	case be.Code == CodeInvalidCreds:
		return be, be.Status == http.StatusUnauthorized
	}
	return be, be.Status == http.StatusUnauthorized && !be.Limited()
}

// watch marks the connection broken when the portal refuses it, in the
// portal's words, and clears the mark when a call succeeds again. The
// mark is the connection's, not the step's: a failure to write it is
// logged by nobody and must not fail the step, so it is dropped.
func (d Deps) watch(ctx context.Context, p Portal, err error) {
	ctx = context.WithoutCancel(ctx)
	if err == nil {
		if p.Broken {
			_ = d.Conns.MarkWorking(ctx, p.ConnID)
		}
		return
	}
	if be, ok := Refused(err); ok {
		_ = d.Conns.MarkBroken(ctx, p.ConnID, strings.TrimPrefix(be.Error(), "bitrix24: "))
	}
}

// classed marks a portal's refusal with its check class.
func classed(err error) error {
	var be *Error
	if !errors.As(err, &be) {
		return err
	}
	switch {
	case be.Limited():
		return connection.Fail(connection.ClassRateLimited, err)
	case be.Code == CodeNoAuth, be.Code == CodeInvalidCreds && be.Status == http.StatusUnauthorized:
		// A wrong or deleted webhook: the documentation says
		// NO_AUTH_FOUND, portals also answer 401 INVALID_CREDENTIALS
		// (the documented 403 INVALID_CREDENTIALS is a lack of rights).
		return connection.Fail(ClassNoAuth, err)
	case be.Code == CodeExpired || be.Code == CodeInvalidGrant || (be.Method == "oauth" && be.Status < 500):
		return connection.Fail(ClassExpired, err)
	case be.Code == CodeInvalidCreds || be.Code == CodeScope || be.Code == CodeAccessDenied:
		return connection.Fail(ClassRights, err)
	case be.Status == http.StatusUnauthorized:
		return connection.Fail(connection.ClassCredentials, err)
	case be.Status == http.StatusNotFound:
		return connection.Fail(connection.ClassAccount, err)
	}
	return connection.Fail(connection.ClassOther, err)
}

// Check asks "profile", which needs no scope and changes nothing: who
// the webhook or the token acts as. A webhook's user must be the one
// the settings name.
func (d Deps) Check(ctx context.Context, p Portal) error {
	a, err := d.Client(p).Call(ctx, "profile", nil)
	if err != nil {
		return classed(err)
	}
	var prof struct {
		ID json.Number `json:"ID"`
	}
	if err := json.Unmarshal(a.Result, &prof); err != nil {
		return connection.Fail(connection.ClassOther, fmt.Errorf("bitrix24: profile: %s is not a user", snippet(a.Result)))
	}
	if id, _ := prof.ID.Int64(); !p.OAuth() && id != p.UserID {
		return connection.Fail(ClassNoAuth, fmt.Errorf("bitrix24: the webhook acts as user %d, the settings name %d", id, p.UserID))
	}
	return nil
}

// Refresh loads what the settings map to: the deal pipelines (the
// default one and crm.category.list's), each one's stages
// (crm.status.list DEAL_STAGE, DEAL_STAGE_{id}), the active users, and
// Obmen's own order statuses for the status_map table.
func (d Deps) Refresh(ctx context.Context, p Portal) (map[string]any, error) {
	c := d.Client(p)
	type category struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
		Sort int64  `json:"sort"`
		// Default: the pipeline of id 0.
		Default bool  `json:"default"`
		Stages  []any `json:"stages"`
	}
	cats := []category{}
	err := c.List(ctx, "crm.category.list", map[string]any{"entityTypeId": 2}, func(items []json.RawMessage) error {
		for _, it := range items {
			var x struct {
				ID        json.Number `json:"id"`
				Name      string      `json:"name"`
				Sort      json.Number `json:"sort"`
				IsDefault string      `json:"isDefault"`
			}
			if err := json.Unmarshal(it, &x); err != nil {
				return fmt.Errorf("bitrix24: crm.category.list: %s: %w", snippet(it), err)
			}
			id, _ := x.ID.Int64()
			sort, _ := x.Sort.Int64()
			cats = append(cats, category{ID: id, Name: x.Name, Sort: sort, Default: x.IsDefault == "Y" || id == 0})
		}
		return nil
	})
	if err != nil {
		return nil, classed(err)
	}
	hasDefault := false
	for _, k := range cats {
		hasDefault = hasDefault || k.ID == 0
	}
	if !hasDefault {
		// Older portals list only the pipelines made by hand.
		cats = append([]category{{ID: 0, Name: "", Default: true}}, cats...)
	}
	for i := range cats {
		entity := "DEAL_STAGE"
		if cats[i].ID != 0 {
			entity += "_" + strconv.FormatInt(cats[i].ID, 10)
		}
		a, err := c.Call(ctx, "crm.status.list", map[string]any{"filter": map[string]any{"ENTITY_ID": entity}, "order": map[string]any{"SORT": "ASC"}})
		if err != nil {
			return nil, classed(err)
		}
		var stages []struct {
			StatusID  string      `json:"STATUS_ID"`
			Name      string      `json:"NAME"`
			Sort      json.Number `json:"SORT"`
			Semantics string      `json:"SEMANTICS"`
		}
		if err := json.Unmarshal(a.Result, &stages); err != nil {
			return nil, fmt.Errorf("bitrix24: crm.status.list %s: %s: %w", entity, snippet(a.Result), err)
		}
		cats[i].Stages = []any{}
		for _, s := range stages {
			cats[i].Stages = append(cats[i].Stages, map[string]any{"id": s.StatusID, "name": s.Name, "semantics": s.Semantics})
		}
	}
	users := []any{}
	err = c.List(ctx, "user.get", map[string]any{"FILTER": map[string]any{"ACTIVE": true}}, func(items []json.RawMessage) error {
		for _, it := range items {
			var u struct {
				ID       json.Number `json:"ID"`
				Name     string      `json:"NAME"`
				LastName string      `json:"LAST_NAME"`
				Email    string      `json:"EMAIL"`
			}
			if err := json.Unmarshal(it, &u); err != nil {
				return fmt.Errorf("bitrix24: user.get: %s: %w", snippet(it), err)
			}
			id, _ := u.ID.Int64()
			users = append(users, map[string]any{"id": id, "name": strings.TrimSpace(u.Name + " " + u.LastName), "email": u.Email})
		}
		return nil
	})
	if err != nil {
		return nil, classed(err)
	}
	sort.SliceStable(cats, func(i, j int) bool { return cats[i].ID == 0 && cats[j].ID != 0 })
	outCats := make([]any, len(cats))
	for i, k := range cats {
		outCats[i] = map[string]any{"id": k.ID, "name": k.Name, "sort": k.Sort, "default": k.Default, "stages": k.Stages}
	}
	return map[string]any{
		"categories":     outCats,
		"users":          users,
		"order_statuses": []any{crm.OrderCreated, crm.OrderApproved, crm.OrderDelivered, crm.OrderCancelled},
	}, nil
}
