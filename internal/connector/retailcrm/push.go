package retailcrm

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/automation"
)

// ErrPollNow is a push that names an order but not the history entry of
// its change: retailCRM's triggers ("Выполнить HTTP-запрос") build their
// request from the order's fields, which hold no history id. Such a push
// cannot be an item with the polled copy's key, so it only says "poll
// now": the caller makes the bundle's poll due, and the history gives
// the item once.
var ErrPollNow = errors.New("retailcrm: the push names no history entry: poll the history now")

// PollNow is ErrPollNow with the order the push named.
type PollNow struct{ OrderID int64 }

func (e *PollNow) Error() string { return fmt.Sprintf("%v (order %d)", ErrPollNow, e.OrderID) }
func (e *PollNow) Unwrap() error { return ErrPollNow }

// MaxPush bounds a pushed body.
const MaxPush = 1 << 20

// ParsePush reads a request retailCRM sent to Obmen's hook URL: a JSON
// {"history": [entries as GET /orders/history gives them]}, or one change
// as JSON or form fields order_id (or id) and history_id, with status
// and old_status when the trigger sends them. Each entry becomes the item
// the poll would make of it, with the same key. A push with an order
// and no history id is a *PollNow; anything else is an error naming the
// field at fault.
func ParsePush(body []byte, contentType string) ([]automation.Item, error) {
	if len(body) > MaxPush {
		return nil, fmt.Errorf("retailcrm: push: the body is over %d bytes", MaxPush)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	fields := map[string]any{}
	switch {
	case mt == "application/x-www-form-urlencoded" || (mt == "" && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))):
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("retailcrm: push: the form: %w", err)
		}
		for k := range q {
			fields[k] = q.Get(k)
		}
	default:
		v, err := automation.DecodeValue(body)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, fmt.Errorf("retailcrm: push: not a JSON object")
		}
		fields = m
	}
	if h, ok := fields["history"]; ok {
		list, ok := h.([]any)
		if !ok {
			return nil, fmt.Errorf("retailcrm: push: history: not a list")
		}
		items := make([]automation.Item, 0, len(list))
		for i, it := range list {
			e, _ := it.(map[string]any)
			hid, oid := intOf(e["id"]), intOf(pathOf(e, "order", "id"))
			if hid <= 0 {
				return nil, fmt.Errorf("retailcrm: push: history[%d].id: not a history id", i)
			}
			if oid <= 0 {
				return nil, fmt.Errorf("retailcrm: push: history[%d].order.id: not an order id", i)
			}
			o, _ := e["order"].(map[string]any)
			data := map[string]any{}
			for k, v := range e {
				if k != "apiKey" {
					data[k] = v
				}
			}
			data["status"] = str(o["status"])
			if str(e["field"]) == "status" {
				data["status"] = codeOf(e["newValue"])
				data["old_status"] = codeOf(e["oldValue"])
			}
			items = append(items, automation.Item{Key: ItemKey(oid, hid), Data: data})
		}
		return items, nil
	}
	oid := positive(fields["order_id"])
	if oid == 0 {
		oid = positive(fields["id"])
	}
	if oid == 0 {
		return nil, fmt.Errorf("retailcrm: push: order_id: not an order id (%q)", str(fields["order_id"])+str(fields["id"]))
	}
	hid := positive(fields["history_id"])
	if hid == 0 {
		if v := str(fields["history_id"]); strings.TrimSpace(v) != "" {
			return nil, fmt.Errorf("retailcrm: push: history_id: %q is not a history id", v)
		}
		return nil, &PollNow{OrderID: oid}
	}
	data := map[string]any{"id": hid, "order": map[string]any{"id": oid}, "status": str(fields["status"])}
	if s := str(fields["old_status"]); s != "" {
		data["old_status"] = s
	}
	return []automation.Item{{Key: ItemKey(oid, hid), Data: data}}, nil
}

// positive is a positive integer given as a number or digits, else 0.
func positive(v any) int64 {
	switch x := v.(type) {
	case int64:
		return max(x, 0)
	case float64:
		if x == float64(int64(x)) && x > 0 {
			return int64(x)
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err == nil && n > 0 {
			return n
		}
	}
	return 0
}
