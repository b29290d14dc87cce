package tmpl

import (
	"reflect"
	"testing"
)

func TestValue(t *testing.T) {
	t.Parallel()
	input, err := FromJSON([]byte(`{
		"title": "Заказ №{{ trigger.record.id }}",
		"amount": "{{ num(trigger.record.amount) }}",
		"client_id": " {{ steps.client.id }} ",
		"phones": [{"value": "{{ phone(trigger.record.phones[0].value) }}", "type": "WORK"}],
		"count": 3, "price": 2.0, "active": true, "none": null,
		"odd key": "{{ upper('x') }}",
		"nested": {"list": ["a", "{{ trigger.record.tags }}"]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := CompileValue("input", input)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsLiteral() {
		t.Error("IsLiteral = true")
	}
	got, err := v.Render(testEnv(t), testOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"title":     "Заказ №5",
		"amount":    1500.5,
		"client_id": int64(42),
		"phones":    []any{map[string]any{"value": "+79123456789", "type": "WORK"}},
		"count":     int64(3), "price": int64(2), "active": true, "none": nil,
		"odd key": "X",
		"nested":  map[string]any{"list": []any{"a", []any{"vip", "опт"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}

	refs := v.Refs()
	fields := map[string]string{}
	for _, r := range refs {
		fields[r.Field] = r.String()
	}
	wantFields := map[string]string{
		"input.title":           "trigger.record.id",
		"input.amount":          "trigger.record.amount",
		"input.client_id":       "steps.client.id",
		"input.phones[0].value": "trigger.record.phones",
		"input.nested.list[1]":  "trigger.record.tags",
	}
	if !reflect.DeepEqual(fields, wantFields) {
		t.Errorf("refs %+v", refs)
	}

	// Rendering twice gives fresh maps: modifying one result leaves the next alone.
	got.(map[string]any)["title"] = "changed"
	again, _ := v.Render(testEnv(t), testOpts()...)
	if again.(map[string]any)["title"] != "Заказ №5" {
		t.Error("results share maps")
	}
}

func TestValueErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		path string
		in   any
		want string
	}{
		{"input", map[string]any{"phones": []any{map[string]any{"value": "{{ upper( }}"}}},
			`input.phones[0].value: tmpl: "{{ upper( }}": unexpected token EOF (1:6)`},
		{"input", map[string]any{"a b": "{{ x"}, `input["a b"]: tmpl: "{{" at 1:1 has no closing "}}"`},
		{"", map[string]any{"k": "{{ nope() }}"}, `k: tmpl: "{{ nope() }}": unknown function nope (1:1)`},
		{"", "{{ 1 + }}", `tmpl: "{{ 1 + }}": unexpected token EOF (1:3)`},
		{"step.input", []any{"ok", "{{ ) }}"}, `step.input[1]: tmpl: "{{ ) }}": unexpected token Bracket(")") (1:1)`},
	}
	for _, c := range cases {
		_, err := CompileValue(c.path, c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("got  %v\nwant %s", err, c.want)
		}
	}

	v, err := CompileValue("input", map[string]any{"sum": []any{"{{ 1 / trigger.record.zero }}"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Render(testEnv(t))
	want := `input.sum[0]: tmpl: "{{ 1 / trigger.record.zero }}": division by zero (1:3)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestValueLiterals(t *testing.T) {
	t.Parallel()
	in := map[string]any{"a": []string{"x", "{{ 1 }}"}, "b": map[string]int{"n": 1}, "c": 1.0, "d": "plain"}
	v, err := CompileValue("", in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": []any{"x", int64(1)}, "b": map[string]any{"n": int64(1)}, "c": int64(1), "d": "plain"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
	lit, _ := CompileValue("", map[string]any{"x": []any{"a", 1}})
	if !lit.IsLiteral() || len(lit.Refs()) != 0 {
		t.Error("a value without templates should be literal")
	}
}
