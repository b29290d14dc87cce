package action

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// The descriptions say what the editor and the validator need: the
// writable fields of a record, the id an update needs, the duplicate
// keys, which actions write.
func TestDescriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &store.Store{}, crm.Actor{UserID: 1}, http.DefaultClient)
	desc := func(name string) automation.Description {
		a, ok := e.reg.Action(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		return e.reg.Describe(a)
	}
	names := func(fs []automation.Field) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}

	create := desc("crm.lead.create")
	in := names(create.Input)
	for _, ro := range []string{"id", "created_at", "converted_at", "deal_id"} {
		if slices.Contains(in, ro) {
			t.Errorf("create takes %s", ro)
		}
	}
	if !slices.Contains(in, "title") || !slices.Contains(in, "phones") || !create.Writes || create.Entity != "lead" ||
		!slices.Equal(create.Duplicates, []string{ByPhone, ByEmail, ByExternalID, ByName}) {
		t.Errorf("create: %+v", create)
	}
	out := names(create.Output)
	for _, f := range []string{"id", "created_at", "title", "outcome", "matches", "matched_by"} {
		if !slices.Contains(out, f) {
			t.Errorf("create returns no %s", f)
		}
	}
	if create.Label.Ru != "Создать лид" || create.Label.En != "Create a lead" || create.Hint.Ru == "" {
		t.Errorf("labels: %+v %+v", create.Label, create.Hint)
	}
	types := map[string]string{}
	for _, f := range create.Input {
		types[f.Name] = f.Type
		if f.Name == "product_rows" {
			for _, r := range f.Item.Fields {
				types["product_rows."+r.Name] = r.Type
			}
		}
	}
	for f, want := range map[string]string{"opportunity": "number", "birthdate": "date", "title": "string", "product_rows.price": "number",
		"product_rows.quantity": "number", "product_rows.product_id": "integer", "product_rows.vat_rate": "number", "address": "object"} {
		if types[f] != want {
			t.Errorf("%s: type %q, want %q", f, types[f], want)
		}
	}
	update := desc("crm.sales_order.update")
	if update.Input[0].Name != "id" || !update.Input[0].Required || slices.Contains(names(update.Input), "number") || slices.Contains(names(update.Input), "total") {
		t.Errorf("update: %v", names(update.Input))
	}
	if d := desc("crm.deal.find"); d.Writes || d.Input[0].Name != "by" || !slices.Equal(d.Input[0].Enum, []string{ByID, ByExternalID, ByName}) {
		t.Errorf("find: %+v", d.Input[0])
	}
	for _, name := range []string{"crm.account.create", "crm.contact.update", "crm.deal.delete", "crm.lead.convert", "crm.timeline.add",
		"crm.activity.complete", "crm.deal.move", "crm.sales_order.product_rows.set", "http.request", "webhook.send"} {
		if !desc(name).Writes {
			t.Errorf("%s does not say it writes", name)
		}
	}
	for _, name := range []string{"crm.account.get", "crm.product.find", "delay", "stop"} {
		if desc(name).Writes {
			t.Errorf("%s says it writes", name)
		}
	}
	if d := desc("crm.activity.create"); len(d.Duplicates) != 0 || slices.Contains(names(d.Output), "outcome") {
		t.Errorf("activity: %+v", d)
	}

	// The bundle validator judges steps by these descriptions.
	if err := e.reg.AddTrigger(automation.TriggerKind{Type: automation.TriggerManual}); err != nil {
		t.Fatal(err)
	}
	def := func(s automation.Step) automation.Definition {
		return automation.Definition{Name: "Заявки", Trigger: automation.TriggerSpec{Type: automation.TriggerManual}, Steps: []automation.Step{s}}
	}
	if _, err := e.reg.Compile(def(automation.Step{ID: "lead", Action: "crm.lead.create", Input: map[string]any{"title": "x"},
		Duplicates: &automation.Duplicates{By: []string{ByPhone}, Then: automation.DupSkip}})); err != nil {
		t.Errorf("a valid step: %v", err)
	}
	_, err := e.reg.Compile(def(automation.Step{ID: "lead", Action: "crm.lead.create", Input: map[string]any{"id": int64(1)},
		Duplicates: &automation.Duplicates{By: []string{ByINN}, Then: automation.DupSkip}}))
	var inv *automation.InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "input.id") || !strings.Contains(err.Error(), "duplicates.by[0]") {
		t.Errorf("an invalid step: %v", err)
	}
}
