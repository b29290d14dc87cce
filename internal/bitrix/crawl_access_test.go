package bitrix_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/bitrix"
	"github.com/obmen/obmen/internal/crm"
)

// accessRefusal is how Bitrix24 answers a record one may not see or
// change: not found, access denied.
var accessRefusal = regexp.MustCompile(`(?i)access denied|not found|no (lead|deal|account|contact|company) with id`)

// olegSecret is in every title, name and text of the other manager's records:
// no answer to the crawling manager may contain it.
const olegSecret = "ОлегСекрет"

// TestCrawlBitrixAccess calls EVERY method the Bitrix24-compatible REST
// serves (the list comes from the `methods` method, so a new method is
// crawled too, and an unclassified one fails the test) through one
// manager's webhook with another manager's record ids: reads, changes,
// deletions and links to those records must be refused, lists and
// dictionaries must not show them, and afterwards the other manager's
// records are as they were.
func TestCrawlBitrixAccess(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		hook := func(login string) *env {
			u, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: login, Role: crm.RoleManager, Active: true}, login+"-password-1")
			if err != nil {
				t.Fatal(err)
			}
			_, code, err := e.h.Webhooks().CreateWebhook(ctx, u.ID, login, []string{"crm", "user"})
			if err != nil {
				t.Fatal(err)
			}
			m := e.with(t)
			m.base = fmt.Sprintf("%s/rest/%d/%s/", e.srv.URL, u.ID, code)
			return m
		}
		oleg, anna := hook("oleg"), hook("anna")
		id := func(a answer) string {
			t.Helper()
			return fmt.Sprint(a.get(t, "result"))
		}
		add := func(m *env, method string, fields map[string]any) string {
			t.Helper()
			return id(m.ok(m.json(method, map[string]any{"fields": fields})))
		}

		// The other manager's records, made through his own webhook.
		o := map[string]string{}
		o["lead"] = add(oleg, "crm.lead.add", map[string]any{"TITLE": olegSecret + " лид", "PHONE": []map[string]any{{"VALUE": "+7 912 555-44-33"}}, "EMAIL": []map[string]any{{"VALUE": "oleg.olegSecret@example.ru"}}})
		o["company"] = add(oleg, "crm.company.add", map[string]any{"TITLE": olegSecret + " компания"})
		o["contact"] = add(oleg, "crm.contact.add", map[string]any{"NAME": olegSecret, "LAST_NAME": "Контактов", "COMPANY_ID": o["company"]})
		o["deal"] = add(oleg, "crm.deal.add", map[string]any{"TITLE": olegSecret + " сделка", "COMPANY_ID": o["company"], "CONTACT_ID": o["contact"]})
		oleg.ok(oleg.json("crm.deal.productrows.set", map[string]any{"id": o["deal"], "rows": []map[string]any{{"PRODUCT_NAME": olegSecret + " строка", "PRICE": 100, "QUANTITY": 1}}}))
		rows := oleg.ok(oleg.json("crm.item.productrow.list", map[string]any{"filter": map[string]any{"=ownerType": "D", "=ownerId": o["deal"]}}))
		o["row"] = fmt.Sprint(rows.get(t, "result", "productRows", "0", "id"))
		o["invoice"] = add(oleg, "crm.invoice.add", map[string]any{"ORDER_TOPIC": olegSecret + " счёт", "UF_DEAL_ID": o["deal"]})
		o["activity"] = add(oleg, "crm.activity.add", map[string]any{"OWNER_TYPE_ID": 1, "OWNER_ID": o["lead"], "TYPE_ID": 2, "SUBJECT": olegSecret + " звонок", "DIRECTION": 2,
			"COMMUNICATIONS": []map[string]any{{"VALUE": "+79125554433", "ENTITY_ID": o["lead"], "ENTITY_TYPE_ID": 1}}})
		o["comment"] = add(oleg, "crm.timeline.comment.add", map[string]any{"ENTITY_ID": o["lead"], "ENTITY_TYPE": "lead", "COMMENT": olegSecret + " комментарий"})
		o["requisite"] = add(oleg, "crm.requisite.add", map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": o["company"], "PRESET_ID": 1, "NAME": olegSecret + " реквизиты", "RQ_INN": "7707083893"})
		o["bank"] = add(oleg, "crm.requisite.bankdetail.add", map[string]any{"ENTITY_ID": o["requisite"], "NAME": olegSecret + " счёт", "RQ_BIK": "044525225", "RQ_ACC_NUM": "40702810938000000001"})
		oleg.ok(oleg.json("crm.address.add", map[string]any{"fields": map[string]any{"TYPE_ID": 1, "ENTITY_TYPE_ID": 8, "ENTITY_ID": o["requisite"], "ADDRESS_1": olegSecret + " улица"}}))
		oleg.ok(oleg.json("crm.requisite.link.register", map[string]any{"fields": map[string]any{"ENTITY_TYPE_ID": 2, "ENTITY_ID": o["deal"], "REQUISITE_ID": o["requisite"], "BANK_DETAIL_ID": o["bank"], "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}}))
		// The crawling manager's own contact, to link to the other's deal.
		mine := add(anna, "crm.contact.add", map[string]any{"NAME": "Аннин контакт"})
		mineCo := add(anna, "crm.company.add", map[string]any{"TITLE": "Аннина компания"})

		itemOf := map[string]string{"1": o["lead"], "2": o["deal"], "3": o["contact"], "4": o["company"]}
		entityOf := func(method string) (string, bool) {
			for _, p := range []struct{ prefix, key string }{
				{"crm.requisite.bankdetail.", "bank"}, {"crm.requisite.", "requisite"}, {"crm.timeline.comment.", "comment"},
				{"crm.activity.", "activity"}, {"crm.lead.", "lead"}, {"crm.deal.", "deal"}, {"crm.contact.", "contact"},
				{"crm.company.", "company"}, {"crm.invoice.", "invoice"},
			} {
				if strings.HasPrefix(method, p.prefix) {
					return o[p.key], true
				}
			}
			return "", false
		}

		// call is one try; refused is what every try at the other's
		// records must answer.
		type call struct {
			body    map[string]any
			refused bool
		}
		refused := func(body map[string]any) []call { return []call{{body, true}} }
		shown := func(body map[string]any) []call { return []call{{body, false}} }
		classify := func(m string) ([]call, bool) {
			switch {
			// Dictionaries and settings: administrators change them.
			case m == "crm.status.add", m == "crm.status.update", m == "crm.status.delete",
				m == "crm.category.add", m == "crm.category.update", m == "crm.category.delete",
				strings.HasSuffix(m, ".userfield.add"), strings.HasSuffix(m, ".userfield.update"), strings.HasSuffix(m, ".userfield.delete"),
				m == "app.option.set":
				return refused(map[string]any{"id": "1", "entityTypeId": 2, "fields": map[string]any{"ENTITY_ID": "SOURCE", "STATUS_ID": "HACK", "NAME": "взлом", "FIELD_NAME": "HACK", "USER_TYPE_ID": "string"}, "options": map[string]any{"hack": "1"}}), true
			// Shared: products, dictionaries, descriptions, users, the
			// server — shown, without the other's records.
			case strings.HasPrefix(m, "crm.product."), strings.HasSuffix(m, ".fields"), strings.HasPrefix(m, "crm.enum."),
				strings.HasPrefix(m, "crm.currency."), strings.HasPrefix(m, "crm.status."), strings.HasPrefix(m, "crm.category."),
				strings.HasPrefix(m, "crm.dealcategory."), strings.HasSuffix(m, ".userfield.list"), strings.HasSuffix(m, ".userfield.get"),
				strings.HasPrefix(m, "user."), strings.HasPrefix(m, "app."), m == "crm.measure.list", m == "crm.vat.list",
				m == "crm.requisite.preset.list", m == "methods", m == "profile", m == "scope", m == "server.time":
				if m == "crm.product.add" || m == "crm.product.update" || m == "crm.product.delete" {
					return nil, true // products are everyone's; their own tests
				}
				return shown(map[string]any{"entityTypeId": 2, "id": "1"}), true
			case m == "batch":
				return shown(map[string]any{"halt": 0, "cmd": map[string]any{"a": "crm.lead.get?id=" + o["lead"], "b": "crm.deal.list", "c": "crm.activity.get?id=" + o["activity"]}}), true
			case m == "crm.duplicate.findbycomm":
				return shown(map[string]any{"type": "PHONE", "values": []string{"+79125554433"}, "entity_type": "LEAD"}), true
			// Lists: the other's records are not in them.
			case strings.HasSuffix(m, ".list"):
				var cs []call
				for _, et := range []string{"1", "2", "3", "4"} {
					cs = append(cs, call{map[string]any{"entityTypeId": et, "filter": map[string]any{"=ownerType": "D", "=ownerId": o["deal"], "ENTITY_ID": o["lead"], "ENTITY_TYPE": "lead"}}, false})
					if !strings.HasPrefix(m, "crm.item.") {
						break
					}
				}
				return cs, true
			// The universal items: each type, by the other's id.
			case strings.HasPrefix(m, "crm.item.productrow."):
				if m == "crm.item.productrow.add" || m == "crm.item.productrow.set" {
					return refused(map[string]any{"fields": map[string]any{"ownerType": "D", "ownerId": o["deal"], "productName": "взлом", "price": 1, "quantity": 1},
						"ownerType": "D", "ownerId": o["deal"], "productRows": []map[string]any{{"productName": "взлом", "price": 1, "quantity": 1}}}), true
				}
				return refused(map[string]any{"id": o["row"], "fields": map[string]any{"productName": "взлом"}}), true
			case strings.HasPrefix(m, "crm.item."):
				var cs []call
				for et, rid := range itemOf {
					body := map[string]any{"entityTypeId": et, "id": rid, "fields": map[string]any{"title": "взлом", "name": "взлом"}}
					if m == "crm.item.add" {
						body["fields"] = map[string]any{"title": "ссылка", "companyId": o["company"], "contactId": o["contact"]}
						if et != "2" {
							continue
						}
					}
					cs = append(cs, call{body, true})
				}
				return cs, true
			case strings.HasPrefix(m, "crm.address."):
				return refused(map[string]any{"fields": map[string]any{"TYPE_ID": 1, "ENTITY_TYPE_ID": 8, "ENTITY_ID": o["requisite"], "ADDRESS_1": "взлом"}}), true
			case strings.HasPrefix(m, "crm.requisite.link."):
				return refused(map[string]any{"entityTypeId": 2, "entityId": o["deal"], "fields": map[string]any{"ENTITY_TYPE_ID": 2, "ENTITY_ID": o["deal"], "REQUISITE_ID": o["requisite"], "BANK_DETAIL_ID": o["bank"], "MC_REQUISITE_ID": 0, "MC_BANK_DETAIL_ID": 0}}), true
			// Adds that link to the other's records.
			case m == "crm.deal.add", m == "crm.contact.add", m == "crm.invoice.add":
				return refused(map[string]any{"fields": map[string]any{"TITLE": "ссылка", "NAME": "ссылка", "ORDER_TOPIC": "ссылка", "COMPANY_ID": o["company"], "CONTACT_ID": o["contact"], "UF_DEAL_ID": o["deal"], "UF_COMPANY_ID": o["company"]}}), true
			case m == "crm.activity.add", m == "crm.activity.todo.add":
				return refused(map[string]any{"ownerTypeId": 1, "ownerId": o["lead"], "title": "взлом", "deadline": "2030-01-01T10:00:00+03:00",
					"fields": map[string]any{"OWNER_TYPE_ID": 1, "OWNER_ID": o["lead"], "TYPE_ID": 2, "SUBJECT": "взлом", "DIRECTION": 2,
						"COMMUNICATIONS": []map[string]any{{"VALUE": "+79125554433", "ENTITY_ID": o["lead"], "ENTITY_TYPE_ID": 1}}}}), true
			case m == "crm.timeline.comment.add":
				return refused(map[string]any{"fields": map[string]any{"ENTITY_ID": o["lead"], "ENTITY_TYPE": "lead", "COMMENT": "взлом"}}), true
			case m == "crm.requisite.add":
				return refused(map[string]any{"fields": map[string]any{"ENTITY_TYPE_ID": 4, "ENTITY_ID": o["company"], "PRESET_ID": 1, "NAME": "взлом"}}), true
			case m == "crm.requisite.bankdetail.add":
				return refused(map[string]any{"fields": map[string]any{"ENTITY_ID": o["requisite"], "NAME": "взлом"}}), true
			case m == "crm.lead.add", m == "crm.company.add":
				return nil, true // nothing of another's to link (a lead's links are read-only)
			// The rest acts on one of the other's records by its id.
			default:
				rid, ok := entityOf(m)
				if !ok {
					return nil, false
				}
				return refused(map[string]any{"id": rid, "fields": map[string]any{"TITLE": "взлом", "NAME": "взлом", "SUBJECT": "взлом", "COMMENT": "взлом", "ORDER_TOPIC": "взлом",
					"CONTACT_ID": mine, "COMPANY_ID": o["company"]}, "items": []map[string]any{{"CONTACT_ID": mine, "COMPANY_ID": mineCo}},
					"rows": []map[string]any{{"PRODUCT_NAME": "взлом", "PRICE": 1, "QUANTITY": 1}}}), true
			}
		}

		var methods []string
		for _, v := range anna.ok(anna.get("methods", "")).get(t, "result").(*bitrix.Array).Values() {
			methods = append(methods, fmt.Sprint(v))
		}
		sort.Strings(methods)
		if len(methods) < 100 {
			t.Fatalf("only %d methods listed", len(methods))
		}
		tries, refusals := 0, 0
		for _, m := range methods {
			calls, ok := classify(m)
			if !ok {
				t.Errorf("method %s has no class in the crawl: decide what a manager may do with it", m)
				continue
			}
			for _, c := range calls {
				tries++
				a := anna.json(m, c.body)
				body := string(a.Body)
				if strings.Contains(body, olegSecret) {
					t.Errorf("%s %v shows the other manager's data: %.300s", m, c.body, body)
				}
				_, isErr := a.Doc.Get("error")
				if c.refused {
					refusals++
					if a.Status == http.StatusOK && !isErr {
						t.Errorf("%s %v as another manager: %d %.300s (want a refusal)", m, c.body, a.Status, body)
					} else if !accessRefusal.MatchString(body) {
						// Refused, but for another reason: the call did
						// not reach the access rule and proves nothing.
						t.Errorf("%s %v: refused for another reason than access: %.300s", m, c.body, body)
					}
					if testing.Verbose() {
						t.Logf("REFUSAL %s %d %.160s", m, a.Status, body)
					}
				} else if a.Status >= 500 {
					t.Errorf("%s: %d %.300s", m, a.Status, body)
				}
			}
		}
		t.Logf("%d methods, %d calls, %d refusals checked", len(methods), tries, refusals)

		// The other's records are as he made them, and nothing links to
		// them from the crawl.
		for _, c := range []struct{ method, id, field string }{
			{"crm.lead.get", o["lead"], "TITLE"}, {"crm.deal.get", o["deal"], "TITLE"}, {"crm.company.get", o["company"], "TITLE"},
			{"crm.contact.get", o["contact"], "NAME"}, {"crm.activity.get", o["activity"], "SUBJECT"}, {"crm.requisite.get", o["requisite"], "NAME"},
			{"crm.requisite.bankdetail.get", o["bank"], "NAME"}, {"crm.invoice.get", o["invoice"], "ORDER_TOPIC"}, {"crm.timeline.comment.get", o["comment"], "COMMENT"},
		} {
			a := oleg.ok(oleg.get(c.method, q("id", c.id)))
			if v := a.str(t, "result", c.field); !strings.Contains(v, olegSecret) {
				t.Errorf("%s %s: %s is %q after the crawl", c.method, c.id, c.field, v)
			}
		}
		rowsAfter := oleg.ok(oleg.get("crm.deal.productrows.get", q("id", o["deal"])))
		if s := string(rowsAfter.Body); !strings.Contains(s, olegSecret) || strings.Contains(s, "взлом") {
			t.Errorf("the other's deal rows after the crawl: %s", s)
		}
		links := e.ok(e.get("crm.deal.contact.items.get", q("id", o["deal"])))
		if strings.Contains(string(links.Body), `"CONTACT_ID":`+mine) || strings.Contains(string(links.Body), `"CONTACT_ID":"`+mine+`"`) {
			t.Errorf("the crawl linked its contact to the other's deal: %s", links.Body)
		}
		if a := e.ok(e.get("crm.timeline.comment.list", q("filter[ENTITY_ID]", o["lead"], "filter[ENTITY_TYPE]", "lead"))); strings.Contains(string(a.Body), "взлом") {
			t.Errorf("a comment was added to the other's lead: %s", a.Body)
		}
	})
}
