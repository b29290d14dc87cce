package automation_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/obmen/obmen/internal/automation"
)

// The record a creation's event describes is the record as read, but for
// what the log leaves out of a creation on purpose; filters judged on
// either decide alike.
func TestCreatedRecordIsTheRecord(t *testing.T) {
	e := newEnv(t, anyDB(t))
	id := e.lead(map[string]any{"title": "Заявка", "name": "Иван", "last_name": "Петров", "source_id": "WEB",
		"phones": []any{map[string]any{"value": "8 (925) 642-42-90", "value_type": "mobile"}},
		"emails": []any{map[string]any{"value": "ivan@example.ru"}}, "utm_source": "yandex",
		"opportunity": "1500.50", "currency": "RUB", "address": map[string]any{"city": "Москва"},
		"product_rows": []any{map[string]any{"name": "Баннер", "price": "100", "quantity": 2}}})
	recs := e.app.Automation.Records()
	real, err := recs.Record(t.Context(), "lead", id)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := e.app.Store.Events(t.Context(), eventsAfter(0))
	if err != nil {
		t.Fatal(err)
	}
	zero, _ := recs.(automation.ZeroRecords).Zero("lead")
	made := automation.CreatedRecord(zero, &evs[len(evs)-1])
	a, _ := json.Marshal(real)
	b, _ := json.Marshal(made)
	var ra, rb map[string]any
	json.Unmarshal(a, &ra)
	json.Unmarshal(b, &rb)
	// The log leaves out the ids of a creation's phones, e-mails and
	// rows, and its time is the write's, a moment after the record's.
	strip := func(v any) string {
		b, _ := json.Marshal(v)
		var x any
		_ = json.Unmarshal(b, &x)
		var walk func(any)
		walk = func(x any) {
			switch m := x.(type) {
			case map[string]any:
				delete(m, "id")
				for _, e := range m {
					walk(e)
				}
			case []any:
				for _, e := range m {
					walk(e)
				}
			}
		}
		if l, ok := x.([]any); ok {
			walk(l)
		}
		out, _ := json.Marshal(x)
		return string(out)
	}
	for k, v := range ra {
		switch k {
		case "created_at", "updated_at":
			continue
		}
		if strip(v) != strip(rb[k]) {
			t.Errorf("%s: read %v, from the event %v", k, v, rb[k])
		}
	}
	for k := range rb {
		if _, ok := ra[k]; !ok {
			t.Errorf("%s: not in the record read", k)
		}
	}
	_ = fmt.Sprint
}
