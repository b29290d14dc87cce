package action

import (
	"sync"
	"testing"

	"github.com/obmen/obmen/internal/automation"
)

// A create retried with the same step key — after a crash, or by two
// workers at once — makes one record and answers with it every time.
func TestCreateOnce(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		for _, rc := range recordCases {
			t.Run(rc.entity, func(t *testing.T) {
				e.t = t
				create := "crm." + rc.entity + ".create"
				before := e.count(rc.table)
				c := e.call()
				first := e.ok(c, create, rc.valid())
				c.Attempt = 2
				again := e.ok(c, create, rc.valid())
				if id(first) != id(again) || e.count(rc.table) != before+1 {
					t.Fatalf("retry made another: %v, %v", id(first), id(again))
				}
				// An input rendered differently on retry still gets the
				// first attempt's record: the step happened once.
				if other := e.ok(c, create, with(rc.valid(), rc.change, "позже")); id(other) != id(first) {
					t.Fatalf("retry with another input: %v", other)
				}
				// Another step makes another.
				if next := e.ok(e.call(), create, rc.valid()); id(next) == id(first) || e.count(rc.table) != before+2 {
					t.Fatalf("another step: %v", next)
				}

				// Attempts at once.
				c = e.call()
				ids := make([]int64, 4)
				var wg sync.WaitGroup
				for i := range ids {
					wg.Add(1)
					go func() {
						defer wg.Done()
						a, _ := e.reg.Action(create)
						out, err := a.Run(e.ctx, c, rc.valid())
						if err != nil {
							t.Error(err)
							return
						}
						ids[i] = id(out.(map[string]any))
					}()
				}
				wg.Wait()
				for _, x := range ids {
					if x != ids[0] || x == 0 {
						t.Fatalf("concurrent attempts: %v", ids)
					}
				}
				if n := e.count(rc.table); n != before+3 {
					t.Fatalf("concurrent attempts made %d records", n-before-2)
				}
			})
		}

		t.Run("retry with duplicates", func(t *testing.T) {
			e.t = t
			c := e.dup(ByPhone, automation.DupSkip)
			in := map[string]any{"title": "Звонок", "phones": []any{map[string]any{"value": "+7 999 555-44-33"}}}
			first := e.ok(c, "crm.lead.create", in)
			again := e.ok(c, "crm.lead.create", in)
			if first["outcome"] != OutcomeCreated || again["outcome"] != OutcomeCreated || id(first) != id(again) || again["matches"] != int64(0) {
				t.Fatalf("%v %v", first, again)
			}
		})
		t.Run("activity", func(t *testing.T) {
			e.t = t
			lead := id(e.ok(e.call(), "crm.lead.create", map[string]any{"title": "Для дела"}))
			in := map[string]any{"kind": "call", "subject": "Перезвонить", "owner_type": "lead", "owner_id": lead}
			before := e.count("activities")
			c := e.call()
			a := e.ok(c, "crm.activity.create", in)
			b := e.ok(c, "crm.activity.create", in)
			if id(a) != id(b) || e.count("activities") != before+1 {
				t.Fatalf("%v %v", a, b)
			}
		})
	})
}
