package action

import (
	"testing"
)

func TestConvertLead(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		lead := id(e.ok(e.call(), "crm.lead.create", map[string]any{"title": "Заявка", "name": "Иван", "company_title": "ООО Ромашка",
			"phones": []any{map[string]any{"value": "+7 925 642-42-90"}}}))
		in := map[string]any{"id": lead, "deal": true, "contact": true, "account": true, "deal_title": "Сделка с Ромашкой"}

		before := e.snapshot()
		res, err := e.run(e.dry(), "crm.lead.convert", in)
		if err != nil {
			t.Fatal(err)
		}
		wantPreview(t, res, "convert lead "+itoa(lead))
		e.unchanged(before)

		out := e.ok(e.call(), "crm.lead.convert", in)
		if out["lead_id"] != lead || out["deal_id"].(int64) == 0 || out["contact_id"].(int64) == 0 || out["account_id"].(int64) == 0 {
			t.Fatalf("convert: %v", out)
		}
		deal := e.ok(e.call(), "crm.deal.get", map[string]any{"id": out["deal_id"]})
		if deal["title"] != "Сделка с Ромашкой" || deal["lead_id"] != lead {
			t.Errorf("deal: %v", deal)
		}
		// Converting again — a retry, another bundle — answers the same
		// and makes nothing.
		mid := e.snapshot()
		if again := e.ok(e.call(), "crm.lead.convert", in); again["deal_id"] != out["deal_id"] || again["account_id"] != out["account_id"] {
			t.Fatalf("again: %v", again)
		}
		if res, err := e.run(e.dry(), "crm.lead.convert", in); err != nil || res.(map[string]any)["deal_id"] != out["deal_id"] {
			t.Fatalf("again in test mode: %v %v", res, err)
		}
		e.unchanged(mid)

		other := id(e.ok(e.call(), "crm.lead.create", map[string]any{"title": "Без компании"}))
		e.fails(e.call(), "crm.lead.convert", map[string]any{"id": other}, "deal")
		e.fails(e.call(), "crm.lead.convert", map[string]any{"id": other, "account": true}, "account")
		e.fails(e.call(), "crm.lead.convert", map[string]any{"id": other, "deal": true, "stage_id": "NOWHERE"}, "deal.stage_id")
		e.fails(e.call(), "crm.lead.convert", map[string]any{"deal": true}, "id")
		_, err = e.run(e.call(), "crm.lead.convert", map[string]any{"id": int64(999999), "deal": true})
		wantNotFound(t, err, "lead 999999 not found")
	})
}
