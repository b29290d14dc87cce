package moysklad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/store"
)

// Moments: МойСклад writes "2016-08-23 15:21:09.123" in answers, takes
// "2016-08-23 15:21:09" in filters; Moscow time (md/_general.md, "Формат
// даты и времени").
const (
	filterLayout   = "2006-01-02 15:04:05"
	pageSize       = 100 // the most a page with expand holds
	maxPagesPoll   = 10
	maxPagesTotal  = 1000
	orderKeyPrefix = "moysklad:customerorder:"
)

var moscow = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Moscow"); err == nil {
		return l
	}
	return time.FixedZone("MSK", 3*3600)
}()

// ParseMoment reads a МойСклад moment, with or without milliseconds or
// seconds.
func ParseMoment(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(l, s, moscow); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("moysklad: %q is not a moment (YYYY-MM-DD HH:MM:SS.mmm)", s)
}

// Cursor is where the poll stands: the latest "updated" seen, and the
// ids of the orders seen at that very moment (another order may still
// be updated within it). Stored as JSON.
type Cursor struct {
	Updated string   `json:"updated,omitempty"`
	IDs     []string `json:"ids,omitempty"`
}

// ParseCursor reads a stored cursor ("" is the start).
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("moysklad: cursor %q: %w", s, err)
	}
	if c.Updated != "" {
		if _, err := ParseMoment(c.Updated); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// after reports whether an order updated at (with id) is past the cursor.
func (c Cursor) after(at time.Time, id string) bool {
	if c.Updated == "" {
		return true
	}
	cur, _ := ParseMoment(c.Updated)
	switch {
	case at.After(cur):
		return true
	case at.Equal(cur):
		return !slices.Contains(c.IDs, id)
	}
	return false
}

// advance moves the cursor over an order.
func (c *Cursor) advance(at time.Time, updated, id string) {
	cur, _ := ParseMoment(c.Updated)
	switch {
	case c.Updated == "" || at.After(cur):
		c.Updated, c.IDs = updated, []string{id}
	case at.Equal(cur) && !slices.Contains(c.IDs, id):
		c.IDs = append(c.IDs, id)
	}
}

// ItemOf is the trigger item of an order as the API gives it: the key is
// the order's id and its "updated", the same whether the change came by
// the poll or by the webhook, so the engine runs it once.
func ItemOf(order map[string]any) (automation.Item, time.Time, error) {
	id, _ := order["id"].(string)
	updated, _ := order["updated"].(string)
	if id == "" || updated == "" {
		return automation.Item{}, time.Time{}, fmt.Errorf("moysklad: an order without id or updated")
	}
	at, err := ParseMoment(updated)
	if err != nil {
		return automation.Item{}, time.Time{}, err
	}
	v, err := automation.ToValue(order)
	if err != nil {
		return automation.Item{}, time.Time{}, err
	}
	data := map[string]any{"order": v, "id": id, "updated": updated, "name": order["name"], "href": hrefOf(order)}
	if st, ok := order["state"].(map[string]any); ok {
		data["state_href"] = hrefOf(st)
		if n, ok := st["name"].(string); ok {
			data["state"] = n
		}
	}
	for _, f := range []string{"sum", "payedSum", "shippedSum"} {
		data[f] = rubles(order[f])
	}
	if m, ok := v.(map[string]any); ok {
		if attrs, ok := m["attributes"].([]any); ok {
			byName := map[string]any{}
			for _, a := range attrs {
				if am, ok := a.(map[string]any); ok {
					if n, ok := am["name"].(string); ok {
						byName[n] = am["value"]
					}
				}
			}
			data["attributes"] = byName
		}
	}
	return automation.Item{Key: orderKeyPrefix + id + ":" + updated, Data: data, OrderKey: orderKeyPrefix + id}, at, nil
}

// rubles is a sum in kopecks (as МойСклад writes sums) in rubles.
func rubles(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f / 100
		}
	case float64:
		return x / 100
	case int64:
		return float64(x) / 100
	}
	return nil
}

// PollOrders reads the orders changed after the cursor, oldest first, at
// most maxPages pages; the items and the cursor after them. The query is
// updated>= the cursor's second (the filter takes no milliseconds) and
// the cursor's own moment and ids tell what was seen: no miss when many
// orders share a moment, no repeat. Pages are asked by keyset (the next
// page starts from the latest moment seen) and by offset only within one
// moment, so an order updated while pages are read (it moves to the end)
// cannot push another past a page's edge unseen.
func (cl *Client) PollOrders(ctx context.Context, cur Cursor, maxPages int) ([]automation.Item, Cursor, error) {
	if cur.Updated == "" {
		start, err := cl.StartCursor(ctx)
		return nil, start, err
	}
	var items []automation.Item
	offset := 0
	// Pages that bring nothing new (a moment shared by more orders than
	// a page holds, all seen) do not count against maxPages: stopping
	// there would leave the poll stuck at that moment.
	for page, fetched := 0, 0; page < maxPages && fetched < maxPagesTotal; fetched++ {
		q := url.Values{"order": {"updated,asc;id,asc"}, "expand": {"state,agent"}}
		if cur.Updated != "" {
			at, _ := ParseMoment(cur.Updated)
			q.Set("filter", "updated>="+at.In(moscow).Format(filterLayout))
		}
		rows, size, err := cl.ListPage(ctx, entityCustomerOrder, q, offset, pageSize)
		if err != nil {
			return nil, cur, err
		}
		moved, before := false, len(items)
		for _, r := range rows {
			it, at, err := ItemOf(r)
			if err != nil {
				return nil, cur, err
			}
			id, _ := r["id"].(string)
			if !cur.after(at, id) {
				continue
			}
			prev := cur.Updated
			cur.advance(at, r["updated"].(string), id)
			if cur.Updated != prev {
				moved = true
			}
			items = append(items, it)
		}
		if len(rows) < pageSize || offset+len(rows) >= size {
			return items, cur, nil
		}
		switch {
		case moved:
			offset = 0 // the next page starts from the new moment
			page++
		case len(items) > before:
			offset += len(rows) // new orders at the cursor's moment
			page++
		default:
			offset += len(rows) // one moment fills the page, all seen: step over it
		}
	}
	return items, cur, nil
}

// StartCursor is where a new bundle's poll starts: at the latest change
// of the account's orders, so that a bundle made today is not run on
// years of history; the changes after it are the bundle's. An account
// without orders starts at the earliest moment a filter takes.
func (cl *Client) StartCursor(ctx context.Context) (Cursor, error) {
	rows, _, err := cl.ListPage(ctx, entityCustomerOrder, url.Values{"order": {"updated,desc;id,desc"}}, 0, 1)
	if err != nil {
		return Cursor{}, err
	}
	if len(rows) == 0 {
		return Cursor{Updated: "1970-01-01 03:00:00.000"}, nil
	}
	id, _ := rows[0]["id"].(string)
	updated, _ := rows[0]["updated"].(string)
	if _, err := ParseMoment(updated); err != nil || id == "" {
		return Cursor{}, fmt.Errorf("moysklad: the latest order: id %q, updated %q", id, updated)
	}
	// Orders changed at that very moment with a smaller id are listed
	// before it: they count as seen too.
	// A filter's moment has no milliseconds: the orders of that second,
	// then those of the very moment.
	cur := Cursor{Updated: updated, IDs: []string{id}}
	at, _ := ParseMoment(updated)
	same, _, err := cl.ListPage(ctx, entityCustomerOrder, url.Values{"filter": {"updated>=" + at.In(moscow).Format(filterLayout)}}, 0, 1000)
	if err != nil {
		return Cursor{}, err
	}
	for _, r := range same {
		sid, _ := r["id"].(string)
		su, _ := r["updated"].(string)
		if m, err := ParseMoment(su); err == nil && m.Equal(at) && sid != "" && sid != id {
			cur.IDs = append(cur.IDs, sid)
		}
	}
	return cur, nil
}

// OrderChangedTrigger is moysklad.customerorder.changed: a change of a
// customer order (its state, its payment, anything) found by the
// reconciliation poll; the webhook's pushes (ParseWebhook) make that
// poll due at once, so a lost webhook loses nothing and a delivered one
// is not run twice.
func OrderChangedTrigger(d Deps) automation.TriggerKind {
	every := d.Every
	if every <= 0 {
		every = defaultPollInterval
	}
	return automation.TriggerKind{
		Type: TriggerOrderChanged, Group: Group, Every: every, Connection: Type,
		// A webhook names the orders, not their state: it makes the
		// reconciliation poll due at once, which reads them (the answer is
		// immediate, as МойСклад wants it within 1.5 s; and a push and the
		// poll give each change the same item).
		Push: func(ctx context.Context, req *automation.PushRequest) ([]automation.Item, error) {
			if _, err := ParseWebhook(req.Body); err != nil {
				return nil, err
			}
			req.PollNow = true
			return nil, nil
		},
		Data: []automation.Field{
			{Name: "id", Type: "string"}, {Name: "name", Type: "string"}, {Name: "href", Type: "string"},
			{Name: "updated", Type: "string"}, {Name: "state", Type: "string"}, {Name: "state_href", Type: "string"},
			{Name: "sum", Type: "number"}, {Name: "payedSum", Type: "number"}, {Name: "shippedSum", Type: "number"},
			{Name: "attributes", Type: "object"},
			// The order as the API gives it, its state and its counterparty
			// (agent: name, phone, email) expanded: the bundles that write
			// the contact into Obmen's CRM find it by them.
			{Name: "order", Type: "object", Fields: []automation.Field{
				{Name: "externalCode", Type: "string"}, {Name: "description", Type: "string"},
				{Name: "agent", Type: "object", Fields: []automation.Field{
					{Name: "name", Type: "string"}, {Name: "phone", Type: "string"}, {Name: "email", Type: "string"},
				}},
			}},
		},
		Validate: func(spec automation.TriggerSpec) []automation.Problem {
			if spec.Connection == 0 {
				return []automation.Problem{{Field: "trigger.connection", Message: "required: a saved МойСклад connection"}}
			}
			return nil
		},
		Poll: func(ctx context.Context, b *automation.Bundle, cursor string) ([]automation.Item, string, error) {
			cl, err := d.triggerClient(ctx, b.Trigger.Connection)
			if err != nil {
				return nil, cursor, err
			}
			cur, err := ParseCursor(cursor)
			if err != nil {
				return nil, cursor, err
			}
			items, next, err := cl.PollOrders(ctx, cur, maxPagesPoll)
			if err != nil {
				return nil, cursor, err
			}
			return items, next.String(), nil
		},
	}
}

func (d Deps) triggerClient(ctx context.Context, id int64) (*Client, error) {
	if id == 0 {
		return nil, errors.New("moysklad: the trigger names no connection")
	}
	conn, set, err := d.Conns.Open(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("moysklad: no connection %d", id)
	}
	if err != nil {
		return nil, err
	}
	if conn.Type != Type {
		return nil, fmt.Errorf("moysklad: connection %d is a %s connection", id, conn.Type)
	}
	return d.client(AccountOf(set)), nil
}

// Event is one event of МойСклад's webhook POST.
type Event struct {
	Meta          Meta     `json:"meta"`
	Action        string   `json:"action"`
	AccountID     string   `json:"accountId"`
	UpdatedFields []string `json:"updatedFields"`
}

// maxWebhookBody bounds a webhook's body.
const maxWebhookBody = 1 << 20

// ParseWebhook reads МойСклад's webhook POST
// ({"auditContext":…,"events":[{"meta":…,"action":"UPDATE","accountId":…,
// "updatedFields":[…]}]}, md/dictionaries/_webhook.md) and returns the
// hrefs of the customer orders it names, each once, in order. The body
// names what changed, not how: FetchItems reads the orders to make the
// items (their "updated" is in the key). Events of other entities and
// DELETE are left out.
func ParseWebhook(body []byte) ([]string, error) {
	if len(body) > maxWebhookBody {
		return nil, fmt.Errorf("moysklad: webhook body over %d bytes", maxWebhookBody)
	}
	var p struct {
		Events *[]Event `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("moysklad: webhook body: %w", err)
	}
	if p.Events == nil {
		return nil, errors.New("moysklad: webhook body: no events")
	}
	var out []string
	seen := map[string]bool{}
	for i, e := range *p.Events {
		if e.Meta.Type != "customerorder" || e.Action == "DELETE" {
			continue
		}
		u, err := url.Parse(e.Meta.Href)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("moysklad: webhook body: events[%d].meta.href %q is not an address", i, e.Meta.Href)
		}
		if !isUUID(u.Path[strings.LastIndex(u.Path, "/")+1:]) {
			return nil, fmt.Errorf("moysklad: webhook body: events[%d].meta.href %q names no order", i, e.Meta.Href)
		}
		if !seen[e.Meta.Href] {
			seen[e.Meta.Href] = true
			out = append(out, e.Meta.Href)
		}
	}
	return out, nil
}
