package action

import (
	"sync"
	"testing"
)

func TestTimelineAdd(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		deal := id(e.ok(e.call(), "crm.deal.create", map[string]any{"title": "Сделка"}))
		in := map[string]any{"entity": "deal", "id": deal, "text": "Клиент просил перезвонить"}

		before := e.snapshot()
		res, err := e.run(e.dry(), "crm.timeline.add", in)
		if err != nil {
			t.Fatal(err)
		}
		wantPreview(t, res, "comment on deal "+itoa(deal))
		e.unchanged(before)

		c := e.call()
		first := e.ok(c, "crm.timeline.add", in)
		if first["body"] != "Клиент просил перезвонить" || first["entity"] != "deal" || first["record_id"] != deal || first["author_id"] != e.admin.UserID {
			t.Fatalf("comment: %v", first)
		}
		c.Attempt = 2
		again := e.ok(c, "crm.timeline.add", in)
		if id(again) != id(first) || e.count("comments") != before["comments"]+1 || e.count("events") != before["events"]+1 {
			t.Fatalf("retry: %v", again)
		}
		// Attempts at once add one comment.
		c = e.call()
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, _ := e.reg.Action("crm.timeline.add")
				if _, err := a.Run(e.ctx, c, in); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := e.count("comments"); n != before["comments"]+2 {
			t.Fatalf("concurrent attempts: %d comments", n-before["comments"])
		}

		e.fails(e.call(), "crm.timeline.add", map[string]any{"entity": "planet", "id": deal, "text": "x"}, "entity")
		e.fails(e.call(), "crm.timeline.add", map[string]any{"entity": "deal", "id": deal, "text": "  "}, "text")
		e.fails(e.call(), "crm.timeline.add", map[string]any{"entity": "deal", "id": deal}, "text")
		_, err = e.run(e.call(), "crm.timeline.add", map[string]any{"entity": "deal", "id": int64(999999), "text": "x"})
		wantNotFound(t, err, "deal 999999 not found")
		_, err = e.run(e.dry(), "crm.timeline.add", map[string]any{"entity": "deal", "id": int64(999999), "text": "x"})
		wantNotFound(t, err, "deal 999999 not found")
	})
}
