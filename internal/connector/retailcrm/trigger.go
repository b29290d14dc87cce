package retailcrm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/obmen/obmen/internal/automation"
)

// Trigger types.
const (
	TriggerStatusChanged = "retailcrm.order.status_changed"
	TriggerChanged       = "retailcrm.order.changed"
)

// MaxPagesPerPoll bounds one poll (100 history entries a page); the
// cursor moves to the last entry read and the next poll goes on.
const MaxPagesPerPoll = 10

// Triggers are the polling triggers on the orders' history
// (GET /api/v5/orders/history, filter[sinceId]).
func Triggers(d Deps) []automation.TriggerKind {
	every := d.Every
	if every <= 0 {
		every = 30 * time.Second
	}
	data := []automation.Field{
		{Name: "id", Type: "integer"}, {Name: "createdAt", Type: "string"}, {Name: "field", Type: "string"},
		{Name: "oldValue", Type: "any"}, {Name: "newValue", Type: "any"}, {Name: "source", Type: "string"},
		{Name: "status", Type: "string"}, {Name: "old_status", Type: "string"},
		{Name: "order", Type: "object", Fields: []automation.Field{
			{Name: "id", Type: "integer"}, {Name: "externalId", Type: "string"}, {Name: "number", Type: "string"},
			{Name: "site", Type: "string"}, {Name: "status", Type: "string"}, {Name: "statusUpdatedAt", Type: "string"},
			{Name: "totalSumm", Type: "number"}, {Name: "summ", Type: "number"}, {Name: "prepaySum", Type: "number"},
			{Name: "customFields", Type: "object"}, {Name: "phone", Type: "string"}, {Name: "email", Type: "string"},
			{Name: "customer", Type: "object", Fields: []automation.Field{
				{Name: "id", Type: "integer"}, {Name: "firstName", Type: "string"}, {Name: "lastName", Type: "string"},
			}},
		}},
	}
	mk := func(typ string, statusOnly bool) automation.TriggerKind {
		return automation.TriggerKind{Type: typ, Group: Group, Data: data, Every: every, Connection: Type,
			// A push (retailCRM's triggers post what the admin sets up:
			// history entries or just the order) makes the history poll
			// due at once: the poll reads the entries with the order, skips
			// Obmen's own changes and keeps status_changed to statuses,
			// and gives each entry the one key.
			Push: func(ctx context.Context, req *automation.PushRequest) ([]automation.Item, error) {
				if _, err := ParsePush(req.Body, req.Request.Header.Get("Content-Type")); err != nil && !errors.Is(err, ErrPollNow) {
					return nil, err
				}
				req.PollNow = true
				return nil, nil
			},
			Validate: func(spec automation.TriggerSpec) []automation.Problem {
				if spec.Connection == 0 {
					return []automation.Problem{{Field: "trigger.connection", Message: "required: the retailCRM connection"}}
				}
				return nil
			},
			Poll: func(ctx context.Context, b *automation.Bundle, cursor string) ([]automation.Item, string, error) {
				return d.Poll(ctx, b.Trigger, cursor, statusOnly)
			}}
	}
	return []automation.TriggerKind{mk(TriggerStatusChanged, true), mk(TriggerChanged, false)}
}

// Poll reads the orders' history after cursor (the last history id
// read). The first poll (cursor "") starts at the history's end, or at
// options.since_id: a new bundle reacts to changes from now on. Entries
// made through the connection's own key ("apiKey": {"current": true},
// Obmen's own writes) make no item; statusOnly keeps the status
// changes. An item's key is the order and the history entry: the same
// on every poll that reads it again.
func (d Deps) Poll(ctx context.Context, spec automation.TriggerSpec, cursor string, statusOnly bool) ([]automation.Item, string, error) {
	a, err := d.account(ctx, &automation.Call{Connection: spec.Connection})
	if err != nil {
		return nil, cursor, err
	}
	if cursor == "" {
		if v := intOf(spec.Options["since_id"]); v > 0 {
			cursor = strconv.FormatInt(v, 10)
		}
	}
	return PollHistory(ctx, d.Client(a), cursor, statusOnly)
}

// PollHistory is Poll on an account's client.
func PollHistory(ctx context.Context, cl *Client, cursor string, statusOnly bool) ([]automation.Item, string, error) {
	if cursor == "" {
		last, err := lastHistoryID(ctx, cl)
		if err != nil {
			return nil, "", err
		}
		return nil, strconv.FormatInt(last, 10), nil
	}
	since, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || since < 0 {
		return nil, cursor, fmt.Errorf("retailcrm: cursor %q is not a history id", cursor)
	}
	next := since
	var entries []map[string]any
	pages := 0
	err = cl.Pages(ctx, "/orders/history", url.Values{"filter[sinceId]": {cursor}}, "history", 100, func(items []any) (bool, error) {
		pages++
		for _, it := range items {
			e, _ := it.(map[string]any)
			id := intOf(e["id"])
			if e == nil || id <= since {
				continue
			}
			next = max(next, id)
			entries = append(entries, e)
		}
		return pages < MaxPagesPerPoll, nil
	})
	if err != nil {
		return nil, cursor, err
	}
	var kept []map[string]any
	var ids []int64
	seen := map[int64]bool{}
	for _, e := range entries {
		if own, _ := pathOf(e, "apiKey", "current").(bool); own {
			continue
		}
		if statusOnly && str(e["field"]) != "status" {
			continue
		}
		oid := intOf(pathOf(e, "order", "id"))
		if oid == 0 {
			continue
		}
		kept = append(kept, e)
		if !seen[oid] {
			seen[oid] = true
			ids = append(ids, oid)
		}
	}
	orders, err := ordersByID(ctx, cl, ids)
	if err != nil {
		return nil, cursor, err
	}
	items := make([]automation.Item, 0, len(kept))
	for _, e := range kept {
		o, _ := e["order"].(map[string]any)
		oid := intOf(o["id"])
		full := orders[oid]
		if full == nil {
			full = o // deleted since: the history's copy is all there is
		}
		data := map[string]any{}
		for k, v := range e {
			if k != "order" && k != "apiKey" {
				data[k] = v
			}
		}
		data["order"] = full
		data["status"] = str(full["status"])
		if str(e["field"]) == "status" {
			data["status"] = codeOf(e["newValue"])
			data["old_status"] = codeOf(e["oldValue"])
		}
		items = append(items, automation.Item{Key: ItemKey(oid, intOf(e["id"])), Data: data})
	}
	return items, strconv.FormatInt(next, 10), nil
}

// ordersByID reads the orders, 100 a request (GET /orders with
// filter[ids][]): a backlog of history costs a request per hundred
// orders, not one per order.
func ordersByID(ctx context.Context, cl *Client, ids []int64) (map[int64]map[string]any, error) {
	out := make(map[int64]map[string]any, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 100)
		q := url.Values{}
		for _, id := range ids[:n] {
			q.Add("filter[ids][]", strconv.FormatInt(id, 10))
		}
		ids = ids[n:]
		err := cl.Pages(ctx, "/orders", q, "orders", 100, func(items []any) (bool, error) {
			for _, it := range items {
				if o, ok := it.(map[string]any); ok {
					out[intOf(o["id"])] = o
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ItemKey is the key of a history entry of an order: the same for the
// polled and a pushed copy of the change.
func ItemKey(orderID, historyID int64) string {
	return "retailcrm:order:" + strconv.FormatInt(orderID, 10) + ":history:" + strconv.FormatInt(historyID, 10)
}

// codeOf is a dictionary value's code: history writes {"code": "new"}.
func codeOf(v any) string {
	if m, ok := v.(map[string]any); ok {
		return str(m["code"])
	}
	return str(v)
}

// lastHistoryID is the id of the history's last entry (0: none yet).
func lastHistoryID(ctx context.Context, cl *Client) (int64, error) {
	q := url.Values{"limit": {"100"}, "page": {"1"}}
	m, err := cl.Get(ctx, "/orders/history", q)
	if err != nil {
		return 0, err
	}
	if total := intOf(pathOf(m, "pagination", "totalPageCount")); total > 1 {
		q.Set("page", strconv.FormatInt(total, 10))
		if m, err = cl.Get(ctx, "/orders/history", q); err != nil {
			return 0, err
		}
	}
	var last int64
	items, _ := m["history"].([]any)
	for _, it := range items {
		e, _ := it.(map[string]any)
		last = max(last, intOf(e["id"]))
	}
	return last, nil
}
