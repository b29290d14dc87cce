package retailcrm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/connector/retailcrm"
)

func TestParsePush(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		keys           []string
		status         string
		pollNow        int64
		err            string
	}{
		{"history as the API gives it", "application/json",
			`{"history":[{"id":41,"field":"status","oldValue":{"code":"new"},"newValue":{"code":"complete"},"order":{"id":7,"status":"complete"}}]}`,
			[]string{retailcrm.ItemKey(7, 41)}, "complete", 0, ""},
		{"form with history_id", "application/x-www-form-urlencoded", "order_id=7&history_id=41&status=complete",
			[]string{retailcrm.ItemKey(7, 41)}, "complete", 0, ""},
		{"JSON with numbers", "application/json; charset=utf-8", `{"id": 7, "history_id": 41, "status": "assembly"}`,
			[]string{retailcrm.ItemKey(7, 41)}, "assembly", 0, ""},
		{"an order alone: poll now", "application/x-www-form-urlencoded", "id=7&status=complete", nil, "", 7, ""},
		{"no order", "application/json", `{"status":"new"}`, nil, "", 0, "order_id"},
		{"bad history id", "", "order_id=7&history_id=x", nil, "", 0, "history_id"},
		{"history not a list", "application/json", `{"history":{}}`, nil, "", 0, "history: not a list"},
		{"entry without order", "application/json", `{"history":[{"id":1}]}`, nil, "", 0, "history[0].order.id"},
		{"not JSON", "application/json", `[1]`, nil, "", 0, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := retailcrm.ParsePush([]byte(tc.body), tc.ct)
			var pn *retailcrm.PollNow
			switch {
			case tc.pollNow != 0:
				if !errors.As(err, &pn) || pn.OrderID != tc.pollNow || !errors.Is(err, retailcrm.ErrPollNow) {
					t.Fatalf("%v, want poll now for %d", err, tc.pollNow)
				}
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%v, want %q", err, tc.err)
				}
			default:
				if err != nil || len(items) != len(tc.keys) {
					t.Fatalf("%v %v", items, err)
				}
				for i, k := range tc.keys {
					if items[i].Key != k || items[i].Data["status"] != tc.status {
						t.Fatalf("item %d: %+v", i, items[i])
					}
				}
			}
		})
	}
}

func FuzzParsePush(f *testing.F) {
	f.Add([]byte(`{"history":[{"id":1,"order":{"id":2}}]}`), "application/json")
	f.Add([]byte("order_id=7&history_id=41"), "application/x-www-form-urlencoded")
	f.Add([]byte("id=7"), "")
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		items, err := retailcrm.ParsePush(body, ct)
		if err == nil && len(items) == 0 && !strings.Contains(string(body), "history") {
			t.Fatalf("no items and no error for %q", body)
		}
		for _, it := range items {
			if !strings.HasPrefix(it.Key, "retailcrm:order:") {
				t.Fatalf("key %q", it.Key)
			}
		}
	})
}
