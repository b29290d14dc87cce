package action

import (
	"testing"

	"github.com/obmen/obmen/internal/crm"
)

func TestMoveDeal(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		p, err := e.s.CreatePipeline(e.ctx, e.admin, crm.Pipeline{Name: "Опт"})
		if err != nil {
			t.Fatal(err)
		}
		deal := id(e.ok(e.call(), "crm.deal.create", map[string]any{"title": "Сделка"}))

		before := e.snapshot()
		res, err := e.run(e.dry(), "crm.deal.move", map[string]any{"id": deal, "stage_id": "WON"})
		if err != nil {
			t.Fatal(err)
		}
		wantPreview(t, res, "move deal "+itoa(deal)+" to WON")
		e.unchanged(before)

		out := e.ok(e.call(), "crm.deal.move", map[string]any{"id": deal, "stage_id": "WON"})
		if out["stage_id"] != "WON" || out["won"] != true || out["closed"] != true || e.count("events") != before["events"]+1 {
			t.Fatalf("move: %v", out)
		}
		e.ok(e.call(), "crm.deal.move", map[string]any{"id": deal, "stage_id": "WON"})
		if e.count("events") != before["events"]+1 {
			t.Errorf("moving to the same stage logged a change")
		}
		// A stage of another pipeline is refused, naming stage_id.
		err = e.fails(e.call(), "crm.deal.move", map[string]any{"id": deal, "stage_id": "C" + itoa(p.ID) + ":WON"}, "stage_id")
		t.Log(err)
		e.fails(e.call(), "crm.deal.move", map[string]any{"id": deal}, "stage_id")
		other := id(e.ok(e.call(), "crm.deal.create", map[string]any{"title": "Опт", "category_id": p.ID}))
		if out := e.ok(e.call(), "crm.deal.move", map[string]any{"id": other, "stage_id": "C" + itoa(p.ID) + ":WON"}); out["won"] != true {
			t.Fatalf("move in pipeline %d: %v", p.ID, out)
		}
		_, err = e.run(e.call(), "crm.deal.move", map[string]any{"id": int64(999999), "stage_id": "WON"})
		wantNotFound(t, err, "deal 999999 not found")
	})
}
