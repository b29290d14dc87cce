package action

import (
	"fmt"
	"testing"
)

// Find, for every entity and key: found with the oldest of the matches
// and their number; nothing found is an answer, not an error.
func TestFind(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		n := 5000
		for _, dc := range dupCases {
			t.Run(dc.entity, func(t *testing.T) {
				e.t = t
				find := "crm." + dc.entity + ".find"
				n++
				existing := dc.existing(n)
				x := e.ok(e.call(), "crm."+dc.entity+".create", existing)
				// A second record like it by every key but the external id
				// (which is one record's), and one deleted.
				second := with(existing, "external_ids", map[string]any{})
				y := e.ok(e.call(), "crm."+dc.entity+".create", second)
				z := e.ok(e.call(), "crm."+dc.entity+".create", second)
				e.ok(e.call(), "crm."+dc.entity+".delete", map[string]any{"id": id(z)})

				values := map[string]any{
					ByID:         id(y),
					ByPhone:      phoneFor(n),
					ByEmail:      fmt.Sprintf("User%d@example.RU", n),
					ByINN:        innFor(n),
					ByExternalID: existing["external_ids"].(map[string]any)[dc.system],
					ByName:       existing["title"],
				}
				switch dc.entity {
				case "contact":
					values[ByName] = fmt.Sprintf("петров-%d  Иван", n)
				case "product":
					values[ByName] = existing["name"]
				case "sales_order":
					values[ByName] = x["number"]
				}
				a, _ := e.reg.Action(find)
				var keys []string
				for _, f := range a.Describe().Input {
					if f.Name == "by" {
						keys = f.Enum
					}
				}
				if len(keys) < 2 || keys[0] != ByID {
					t.Fatalf("by: %v", keys)
				}
				for _, by := range keys {
					in := map[string]any{"by": by, "value": values[by]}
					if by == ByExternalID {
						in["system"] = dc.system
					}
					out := e.ok(e.call(), find, in)
					want, count := id(x), int64(2)
					switch {
					case by == ByID:
						want, count = id(y), 1
					case by == ByExternalID || (dc.entity == "sales_order" && by == ByName):
						count = 1
					}
					rec, _ := out["record"].(map[string]any)
					if out["found"] != true || out["count"] != count || id(out) != want || id(rec) != want {
						t.Errorf("by %s: %v", by, out)
					}
				}

				// Nothing found.
				for _, by := range keys {
					in := map[string]any{"by": by, "value": "000000"}
					if by == ByID {
						in["value"] = int64(999999)
					}
					if by == ByExternalID {
						in["system"] = dc.system
					}
					out := e.ok(e.call(), find, in)
					if out["found"] != false || out["count"] != int64(0) || out["record"] != nil || id(out) != 0 {
						t.Errorf("by %s, nothing: %v", by, out)
					}
				}
				// A record in the recycle bin is not found by id.
				if out := e.ok(e.call(), find, map[string]any{"by": ByID, "value": fmt.Sprint(id(z))}); out["found"] != false {
					t.Errorf("deleted found: %v", out)
				}

				e.fails(e.call(), find, map[string]any{"by": "colour", "value": "x"}, "by")
				e.fails(e.call(), find, map[string]any{"by": ByExternalID, "value": "x"}, "system")
				e.fails(e.call(), find, map[string]any{"by": ByID, "value": "x"}, "value")
				e.fails(e.call(), find, map[string]any{"by": ByID, "value": "  "}, "value")
				e.fails(e.call(), find, map[string]any{"value": "x"}, "by")
			})
		}
	})
}
