// Package retailcrm connects Obmen to a retailCRM account through its API
// v5 (seed 001, issue 15): a connection type "retailcrm" (the account's
// address, an API key, a site), the actions retailcrm.customer.create /
// .update and retailcrm.order.create / .update / .get, whose input is
// retailCRM's own customer or order object, and the polling triggers
// retailcrm.order.status_changed and retailcrm.order.changed read from
// the orders' history.
//
// The wire format follows the API rules
// (https://docs.simla.com/Developers/API/APIFeatures/APIRules) and the
// official clients retailcrm/api-client-go and api-client-php: GET with
// query parameters, POST application/x-www-form-urlencoded with each
// nested object JSON-encoded in its field, answers {"success": true, …}
// or {"success": false, "errorMsg": …, "errors": {…}}, lists paged with
// page/limit and a "pagination" object, 10 requests a second per key.
package retailcrm

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connection"
	"github.com/obmen/obmen/internal/db"
)

//go:embed messages/*.json
var messages embed.FS

// Names of the connection type, the group of actions and triggers.
const (
	Type  = "retailcrm"
	Group = "retailcrm"
)

// Deps is what the connector works with.
type Deps struct {
	// HTTP is the SSRF-guarded client (httpx.NewOutboundClient).
	HTTP  *http.Client
	Conns *connection.Store
	// DB holds the duplicate lookups' locks.
	DB *db.DB
	// Limiters are the per-key token buckets (nil: the package's own).
	Limiters *Limiters
	// Every is how often the triggers poll (0: 30 s).
	Every time.Duration
	// Backoff is the first wait after a 503/429 (0: 100 ms).
	Backoff time.Duration
}

var processLimiters = &Limiters{}

// Register adds the connection type, the actions and the triggers.
func Register(conns *connection.Registry, reg *automation.Registry, d Deps) error {
	if d.HTTP == nil || d.Conns == nil || d.DB == nil {
		return errors.New("retailcrm: Deps.HTTP, Conns and DB are required")
	}
	if d.Limiters == nil {
		d.Limiters = processLimiters
	}
	if err := conns.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("retailcrm: %w", err)
	}
	if err := conns.Add(ConnectionType(d)); err != nil {
		return err
	}
	if err := reg.AddMessages(messages, "messages"); err != nil {
		return fmt.Errorf("retailcrm: %w", err)
	}
	for _, a := range Actions(d) {
		if err := reg.Add(a); err != nil {
			return err
		}
	}
	for _, k := range Triggers(d) {
		if err := reg.AddTrigger(k); err != nil {
			return err
		}
	}
	return nil
}

// Account is a retailcrm connection's settings.
type Account struct {
	// URL is the account's address, https://shop.retailcrm.ru: here the
	// base address is the account itself, so it is required.
	URL  string
	Key  string
	Site string
}

// AccountOf reads a saved connection's settings.
func AccountOf(s connection.Settings) Account {
	return Account{URL: strings.TrimRight(strings.TrimSpace(s.String("url")), "/"), Key: s.String("api_key"), Site: strings.TrimSpace(s.String("site"))}
}

// Problems checks the settings beyond the fields' description.
func (a Account) Problems() []connection.Problem {
	if a.URL == "" {
		return []connection.Problem{{Field: "url", Message: "required: the account's address, such as https://shop.retailcrm.ru"}}
	}
	if p := connection.CheckBaseURL("url", a.URL, ""); p != nil {
		return p
	}
	if u, _ := url.Parse(a.URL); u != nil && strings.TrimRight(u.Path, "/") != "" {
		return []connection.Problem{{Field: "url", Message: fmt.Sprintf("%q: give the account's address alone, without a path such as /api/v5", a.URL)}}
	}
	return nil
}

// Client is the account's API client, under the key's shared limiter.
func (d Deps) Client(a Account) *Client {
	l := d.Limiters
	if l == nil {
		l = processLimiters
	}
	return &Client{Account: a.URL, Key: a.Key, HTTP: d.HTTP, Limit: l.of(a.URL, a.Key), Backoff: d.Backoff}
}

// ConnectionType is the retailcrm connection type.
func ConnectionType(d Deps) connection.Type {
	return connection.Type{
		Name: Type,
		Fields: []connection.Field{
			{Name: "url", Type: connection.String, Required: true},
			{Name: "api_key", Type: connection.String, Required: true, Secret: true},
			{Name: "site", Type: connection.String},
		},
		Validate: func(s connection.Settings) []connection.Problem { return AccountOf(s).Problems() },
		Check: func(ctx context.Context, s connection.Settings) error {
			return d.Check(ctx, AccountOf(s))
		},
		Refresh: func(ctx context.Context, s connection.Settings) (map[string]any, error) {
			return d.Refresh(ctx, AccountOf(s))
		},
	}
}

// classed marks an API refusal with its check class.
func classed(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return connection.Fail(ae.Class(), err)
	}
	return err
}

// Check asks GET /api/credentials: the key's scopes and sites, a call
// that changes nothing. A site the key may not reach is the wrong
// account.
func (d Deps) Check(ctx context.Context, a Account) error {
	m, err := d.Client(a).GetUnversioned(ctx, "/credentials")
	if err != nil {
		return classed(err)
	}
	if a.Site != "" && fmt.Sprint(m["siteAccess"]) == "access_selective" {
		sites, _ := m["sitesAvailable"].([]any)
		if !slices.ContainsFunc(sites, func(s any) bool { return fmt.Sprint(s) == a.Site }) {
			return connection.Fail(connection.ClassAccount, fmt.Errorf("retailcrm: the key has no access to site %q (it reaches %v)", a.Site, sites))
		}
	}
	return nil
}

// Refresh loads the dictionaries a user maps to: sites, order types,
// statuses and their groups, custom fields.
func (d Deps) Refresh(ctx context.Context, a Account) (map[string]any, error) {
	c := d.Client(a)
	out := map[string]any{}
	for _, ref := range []struct{ path, key, out string }{
		{"/reference/sites", "sites", "sites"},
		{"/reference/order-types", "orderTypes", "order_types"},
		{"/reference/statuses", "statuses", "statuses"},
		{"/reference/status-groups", "statusGroups", "status_groups"},
	} {
		m, err := c.Get(ctx, ref.path, nil)
		if err != nil {
			return nil, classed(err)
		}
		out[ref.out] = dictionary(m[ref.key])
	}
	var fields []any
	err := c.Pages(ctx, "/custom-fields", url.Values{}, "customFields", 0, func(items []any) (bool, error) {
		for _, it := range items {
			f, _ := it.(map[string]any)
			if f == nil {
				continue
			}
			fields = append(fields, map[string]any{"code": f["code"], "name": f["name"], "type": f["type"], "entity": f["entity"]})
		}
		return true, nil
	})
	if err != nil {
		return nil, classed(err)
	}
	out["custom_fields"] = fields
	return out, nil
}

// dictionary turns retailCRM's reference (an object by code, or a list)
// into a list of {code, name, …} ordered by ordering then code.
func dictionary(v any) []any {
	var items []map[string]any
	switch x := v.(type) {
	case map[string]any:
		for code, e := range x {
			m, _ := e.(map[string]any)
			if m == nil {
				continue
			}
			if _, ok := m["code"]; !ok {
				m["code"] = code
			}
			items = append(items, m)
		}
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				items = append(items, m)
			}
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if oi, oj := intOf(items[i]["ordering"]), intOf(items[j]["ordering"]); oi != oj {
			return oi < oj
		}
		return fmt.Sprint(items[i]["code"]) < fmt.Sprint(items[j]["code"])
	})
	out := make([]any, 0, len(items))
	for _, m := range items {
		e := map[string]any{"code": m["code"], "name": m["name"]}
		for _, k := range []string{"group", "active", "statuses", "url"} {
			if v, ok := m[k]; ok {
				e[k] = v
			}
		}
		out = append(out, e)
	}
	return out
}

// Pages walks a paged list: page 1, 2, … up to the pagination's
// totalPageCount, limit items a page (0: 100, the most retailCRM gives),
// handing each page's items under key to fn until it says stop.
func (c *Client) Pages(ctx context.Context, path string, q url.Values, key string, limit int, fn func(items []any) (bool, error)) error {
	if limit <= 0 {
		limit = 100
	}
	for page := 1; ; page++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", fmt.Sprint(limit))
		qq.Set("page", fmt.Sprint(page))
		m, err := c.Get(ctx, path, qq)
		if err != nil {
			return err
		}
		items, _ := m[key].([]any)
		more, err := fn(items)
		if err != nil || !more {
			return err
		}
		total := intOf(pathOf(m, "pagination", "totalPageCount"))
		if int64(page) >= total || len(items) == 0 {
			return nil
		}
	}
}

func pathOf(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func intOf(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case int:
		return int64(x)
	case interface{ Int64() (int64, error) }:
		n, _ := x.Int64()
		return n
	case string:
		var n int64
		_, _ = fmt.Sscan(x, &n)
		return n
	}
	return 0
}
