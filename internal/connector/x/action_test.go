package x_test

import (
	"context"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/connector"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/store/storetest"
)

// message.send with channel "twitter": a step tried again (the job
// retried after its first attempt posted) finds its message by the
// step's key and posts nothing twice.
func TestSendActionRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		c := e.contact("https://x.com/ivan")
		a := connector.SendAction(e.s, e.svc)
		in := map[string]any{"channel": "twitter", "owner_type": "contact", "owner_id": c.ID, "text": "Заказ готов"}
		var outs []map[string]any
		for attempt := 1; attempt <= 2; attempt++ {
			out, err := a.Run(ctx, &automation.Call{RunID: 7, StepID: "reply", Attempt: attempt, Actor: e.admin, Fresh: attempt == 1}, in)
			if err != nil {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
			m, _ := out.(map[string]any)
			outs = append(outs, m)
		}
		if outs[0]["status"] != "sent" || outs[1]["status"] != "sent" || outs[1]["repeated"] != true || outs[0]["message_id"] != outs[1]["message_id"] {
			t.Fatalf("outputs: %+v", outs)
		}
		if p := e.x.published(); len(p) != 1 || p[0].Text != "@ivan Заказ готов" {
			t.Fatalf("X got %+v", p)
		}
		// A record without a Twitter field: the step's input is at fault.
		other := e.contact("")
		in["owner_id"] = other.ID
		if _, err := a.Run(ctx, &automation.Call{RunID: 8, StepID: "reply", Attempt: 1, Actor: e.admin, Fresh: true}, in); err == nil {
			t.Fatal("no Twitter field: no error")
		}
	})
}
