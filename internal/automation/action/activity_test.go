package action

import (
	"testing"
)

func TestActivities(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		lead := id(e.ok(e.call(), "crm.lead.create", map[string]any{"title": "Для дел"}))
		in := map[string]any{"kind": "call", "subject": "Перезвонить", "owner_type": "lead", "owner_id": lead,
			"start_at": "2025-03-01T09:00:00+03:00", "end_at": "2025-03-01T09:30:00+03:00", "assigned_by_id": e.admin.UserID}

		before := e.snapshot()
		res, err := e.run(e.dry(), "crm.activity.create", in)
		if err != nil {
			t.Fatal(err)
		}
		wantPreview(t, res, "create activity")
		e.unchanged(before)

		a := e.ok(e.call(), "crm.activity.create", in)
		aid := id(a)
		if aid == 0 || a["owner_id"] != lead || a["done"] != false || a["start_at"] != "2025-03-01T06:00:00Z" {
			t.Fatalf("create: %v", a)
		}
		if _, has := a["outcome"]; has {
			t.Errorf("an activity has no duplicate handling: %v", a)
		}
		e.fails(e.call(), "crm.activity.create", map[string]any{"kind": "dance", "subject": "x"}, "kind")
		e.fails(e.call(), "crm.activity.create", map[string]any{"kind": "call", "subject": "x", "owner_type": "lead", "owner_id": int64(999999)}, "owner_id")
		e.fails(e.call(), "crm.activity.create", map[string]any{"kind": "call", "subject": "x", "completed_at": "2025-03-01T09:00:00Z"}, "completed_at")

		mid := e.snapshot()
		res, err = e.run(e.dry(), "crm.activity.complete", map[string]any{"id": aid})
		if err != nil {
			t.Fatal(err)
		}
		wantPreview(t, res, "complete activity "+itoa(aid))
		e.unchanged(mid)
		done := e.ok(e.call(), "crm.activity.complete", map[string]any{"id": aid})
		if done["done"] != true || done["completed_at"] == nil || e.count("events") != mid["events"]+1 {
			t.Fatalf("complete: %v", done)
		}
		if again := e.ok(e.call(), "crm.activity.complete", map[string]any{"id": aid}); again["completed_at"] != done["completed_at"] || e.count("events") != mid["events"]+1 {
			t.Fatalf("complete again: %v", again)
		}
		_, err = e.run(e.call(), "crm.activity.complete", map[string]any{"id": int64(999999)})
		wantNotFound(t, err, "activity 999999 not found")

		if out := e.ok(e.call(), "crm.activity.delete", map[string]any{"id": aid}); out["deleted"] != true {
			t.Fatalf("delete: %v", out)
		}
		if out := e.ok(e.call(), "crm.activity.delete", map[string]any{"id": aid}); out["deleted"] != true || e.count("events") != mid["events"]+2 {
			t.Fatalf("delete again: %v", out)
		}
		_, err = e.run(e.call(), "crm.activity.complete", map[string]any{"id": aid})
		wantNotFound(t, err, "activity "+itoa(aid)+" not found")
		_, err = e.run(e.call(), "crm.activity.delete", map[string]any{"id": int64(999999)})
		wantNotFound(t, err, "activity 999999 not found")
	})
}
