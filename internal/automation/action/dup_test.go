package action

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
)

// innFor is a valid ten-digit INN made of n.
func innFor(n int) string {
	base := fmt.Sprintf("77%07d", n)
	w := []int{2, 4, 10, 3, 5, 9, 4, 6, 8}
	sum := 0
	for i, c := range base {
		sum += int(c-'0') * w[i]
	}
	return base + strconv.Itoa(sum%11%10)
}

func phoneFor(n int) string { return fmt.Sprintf("+7 (925) 100-%02d-%02d", n/100, n%100) }

// dupCase is one entity's duplicate keys: a record made of n, and for
// each key an input that is like it by that key alone.
type dupCase struct {
	entity, change string
	existing       func(n int) map[string]any
	probes         map[string]func(n int) map[string]any
	// system names the external id system of existing.
	system string
}

func commsOf(n int) map[string]any {
	return map[string]any{
		"phones": []any{map[string]any{"value": phoneFor(n)}},
		"emails": []any{map[string]any{"value": fmt.Sprintf("user%d@example.ru", n)}},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// The phone typed another way, the e-mail in capitals.
var commProbes = map[string]func(n int) map[string]any{
	ByPhone: func(n int) map[string]any {
		return map[string]any{"phones": []any{map[string]any{"value": fmt.Sprintf("8 925 100 %02d %02d", n/100, n%100)}}}
	},
	ByEmail: func(n int) map[string]any {
		return map[string]any{"emails": []any{map[string]any{"value": fmt.Sprintf("USER%d@Example.ru", n)}}}
	},
}

var dupCases = []dupCase{
	{entity: "lead", change: "comments", system: "site",
		existing: func(n int) map[string]any {
			return with(commsOf(n), "title", fmt.Sprintf("Заявка %d", n), "external_ids", map[string]any{"site": fmt.Sprintf("L-%d", n)})
		},
		probes: map[string]func(n int) map[string]any{
			ByPhone: func(n int) map[string]any { return with(commProbes[ByPhone](n), "title", "Другая") },
			ByEmail: func(n int) map[string]any { return with(commProbes[ByEmail](n), "title", "Другая") },
			ByExternalID: func(n int) map[string]any {
				return map[string]any{"title": "Другая", "external_ids": map[string]any{"site": fmt.Sprintf("L-%d", n)}}
			},
			ByName: func(n int) map[string]any { return map[string]any{"title": fmt.Sprintf("  заявка %d ", n)} },
		}},
	{entity: "contact", change: "comments", system: "site",
		existing: func(n int) map[string]any {
			return with(commsOf(n), "name", "Иван", "last_name", fmt.Sprintf("Петров-%d", n), "external_ids", map[string]any{"site": fmt.Sprintf("C-%d", n)})
		},
		probes: map[string]func(n int) map[string]any{
			ByPhone: func(n int) map[string]any { return with(commProbes[ByPhone](n), "name", "Другой") },
			ByEmail: func(n int) map[string]any { return with(commProbes[ByEmail](n), "name", "Другой") },
			ByExternalID: func(n int) map[string]any {
				return map[string]any{"name": "Другой", "external_ids": map[string]any{"site": fmt.Sprintf("C-%d", n)}}
			},
			ByName: func(n int) map[string]any {
				return map[string]any{"name": "иван", "last_name": fmt.Sprintf("ПЕТРОВ-%d", n)}
			},
		}},
	{entity: "account", change: "comments", system: "1c",
		existing: func(n int) map[string]any {
			return with(commsOf(n), "title", fmt.Sprintf("ООО Ромашка %d", n), "inn", innFor(n), "external_ids", map[string]any{"1c": fmt.Sprintf("A-%d", n)})
		},
		probes: map[string]func(n int) map[string]any{
			ByPhone: func(n int) map[string]any { return with(commProbes[ByPhone](n), "title", "Другая") },
			ByEmail: func(n int) map[string]any { return with(commProbes[ByEmail](n), "title", "Другая") },
			ByINN:   func(n int) map[string]any { return map[string]any{"title": "Другая", "inn": innFor(n)} },
			ByExternalID: func(n int) map[string]any {
				return map[string]any{"title": "Другая", "external_ids": map[string]any{"1c": fmt.Sprintf("A-%d", n)}}
			},
			ByName: func(n int) map[string]any { return map[string]any{"title": fmt.Sprintf("ооо ромашка %d", n)} },
		}},
	{entity: "deal", change: "comments", system: "shop",
		existing: func(n int) map[string]any {
			return map[string]any{"title": fmt.Sprintf("Сделка %d", n), "external_ids": map[string]any{"shop": fmt.Sprintf("D-%d", n)}}
		},
		probes: map[string]func(n int) map[string]any{
			ByExternalID: func(n int) map[string]any {
				return map[string]any{"title": "Другая", "external_ids": map[string]any{"shop": fmt.Sprintf("D-%d", n)}}
			},
			ByName: func(n int) map[string]any { return map[string]any{"title": fmt.Sprintf("СДЕЛКА %d", n)} },
		}},
	{entity: "sales_order", change: "comments", system: "shop",
		existing: func(n int) map[string]any {
			return map[string]any{"from_site": "shop", "external_ids": map[string]any{"shop": fmt.Sprintf("O-%d", n)}}
		},
		probes: map[string]func(n int) map[string]any{
			ByExternalID: func(n int) map[string]any {
				return map[string]any{"from_site": "other", "external_ids": map[string]any{"shop": fmt.Sprintf("O-%d", n)}}
			},
		}},
	{entity: "product", change: "description", system: "1c",
		existing: func(n int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Баннер %d", n), "article": fmt.Sprintf("B-%d", n), "external_ids": map[string]any{"1c": fmt.Sprintf("P-%d", n)}}
		},
		probes: map[string]func(n int) map[string]any{
			ByExternalID: func(n int) map[string]any {
				return map[string]any{"name": "Другой", "external_ids": map[string]any{"1c": fmt.Sprintf("P-%d", n)}}
			},
			ByName: func(n int) map[string]any {
				return map[string]any{"name": fmt.Sprintf("баннер %d", n), "article": fmt.Sprintf("B-%d", n)}
			},
		}},
}

// Duplicate handling, for every entity and key: skip returns the match,
// update changes it with the input, create makes another; several
// matches give the oldest and their number.
func TestDuplicates(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		n := 0
		for _, dc := range dupCases {
			// Every key the action declares is covered.
			a, _ := e.reg.Action("crm." + dc.entity + ".create")
			if len(a.Describe().Duplicates) != len(dc.probes) {
				t.Fatalf("%s: keys %v, probes for %d", dc.entity, a.Describe().Duplicates, len(dc.probes))
			}
			for _, key := range a.Describe().Duplicates {
				n++
				t.Run(dc.entity+"/"+key, func(t *testing.T) {
					e.t = t
					create := "crm." + dc.entity + ".create"
					x := id(e.ok(e.call(), create, dc.existing(n)))
					probe := dc.probes[key]

					before := e.snapshot()
					out := e.ok(e.dup(key, automation.DupSkip), create, probe(n))
					if id(out) != x || out["outcome"] != OutcomeFound || out["matches"] != int64(1) || out["matched_by"] != key {
						t.Fatalf("skip: %v", out)
					}
					e.unchanged(before)
					dry := e.dup(key, automation.DupSkip)
					dry.DryRun = true
					res, err := e.run(dry, create, probe(n))
					if err != nil {
						t.Fatal(err)
					}
					wantPreview(t, res, fmt.Sprintf("nothing: %s %d matches by %s (1 matches)", entityWords(dc.entity), x, key))
					e.unchanged(before)

					out = e.ok(e.dup(key, automation.DupUpdate), create, with(probe(n), dc.change, "обновлено"))
					if id(out) != x || out["outcome"] != OutcomeUpdated || out["matches"] != int64(1) || out[dc.change] != "обновлено" {
						t.Fatalf("update: %v", out)
					}
					if e.count(dc.entity+"s") != before[dc.entity+"s"] || e.count("events") != before["events"]+1 {
						t.Errorf("update made records or no event")
					}
					// Again: nothing more changes.
					e.ok(e.dup(key, automation.DupUpdate), create, with(probe(n), dc.change, "обновлено"))
					if e.count("events") != before["events"]+1 {
						t.Errorf("a repeated update logged an event")
					}

					if key == ByExternalID {
						// An external id belongs to one record: create anyway
						// is refused by the CRM, naming it.
						e.fails(e.dup(key, automation.DupCreate), create, probe(n), "external_ids."+dc.system)
						return
					}
					out = e.ok(e.dup(key, automation.DupCreate), create, probe(n))
					if id(out) == x || out["outcome"] != OutcomeCreated || out["matches"] != int64(1) {
						t.Fatalf("create anyway: %v", out)
					}
					out = e.ok(e.dup(key, automation.DupSkip), create, probe(n))
					if id(out) != x || out["matches"] != int64(2) {
						t.Fatalf("two matches: the oldest: %v", out)
					}
				})
			}
		}

		t.Run("no match", func(t *testing.T) {
			e.t = t
			out := e.ok(e.dup(ByPhone, automation.DupSkip), "crm.lead.create", map[string]any{"phones": []any{map[string]any{"value": "+7 999 000-00-01"}}})
			if out["outcome"] != OutcomeCreated || out["matches"] != int64(0) || out["matched_by"] != nil {
				t.Fatalf("%v", out)
			}
		})
		t.Run("keys in order", func(t *testing.T) {
			e.t = t
			a := id(e.ok(e.call(), "crm.contact.create", map[string]any{"name": "Анна", "last_name": "Ключ"}))
			b := id(e.ok(e.call(), "crm.contact.create", map[string]any{"name": "Борис", "emails": []any{map[string]any{"value": "order@example.ru"}}}))
			c := e.call()
			c.Duplicates = &automation.Duplicates{By: []string{ByEmail, ByName}, Then: automation.DupSkip}
			out := e.ok(c, "crm.contact.create", map[string]any{"name": "Анна", "last_name": "Ключ", "emails": []any{map[string]any{"value": "order@example.ru"}}})
			if id(out) != b || out["matched_by"] != ByEmail || a == b {
				t.Fatalf("%v", out)
			}
		})
		t.Run("inn of requisites", func(t *testing.T) {
			e.t = t
			acc, err := e.s.CreateAccount(e.ctx, e.admin, crm.Account{Title: "ИП Сидоров"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.AddRequisite(e.ctx, e.admin, crm.Requisite{AccountID: acc.ID, INN: innFor(9999)}); err != nil {
				t.Fatal(err)
			}
			out := e.ok(e.dup(ByINN, automation.DupSkip), "crm.account.create", map[string]any{"title": "Сидоров", "inn": innFor(9999)})
			if id(out) != acc.ID {
				t.Fatalf("%v", out)
			}
		})
		t.Run("a product without an article matches by name", func(t *testing.T) {
			e.t = t
			p := id(e.ok(e.call(), "crm.product.create", map[string]any{"name": "Штендер", "article": "SH-1"}))
			if out := e.ok(e.dup(ByName, automation.DupSkip), "crm.product.create", map[string]any{"name": "штендер"}); id(out) != p {
				t.Fatalf("%v", out)
			}
			if out := e.ok(e.dup(ByName, automation.DupSkip), "crm.product.create", map[string]any{"name": "Штендер", "article": "SH-2"}); id(out) == p {
				t.Fatalf("another article matched: %v", out)
			}
		})
		t.Run("a deleted record is no duplicate", func(t *testing.T) {
			e.t = t
			x := e.ok(e.call(), "crm.deal.create", map[string]any{"title": "Удалённая сделка"})
			e.ok(e.call(), "crm.deal.delete", map[string]any{"id": id(x)})
			if out := e.ok(e.dup(ByName, automation.DupSkip), "crm.deal.create", map[string]any{"title": "Удалённая сделка"}); id(out) == id(x) || out["outcome"] != OutcomeCreated {
				t.Fatalf("%v", out)
			}
		})
		t.Run("bad handling", func(t *testing.T) {
			e.t = t
			e.fails(e.dup(ByPhone, automation.DupSkip), "crm.deal.create", map[string]any{"title": "x"}, "duplicates.by[0]")
			e.fails(e.dup(ByName, "merge"), "crm.deal.create", map[string]any{"title": "Удалённая сделка"}, "duplicates.then")
		})
	})
}
