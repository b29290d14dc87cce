package tmpl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func condFromJSON(t testing.TB, s string) Condition {
	t.Helper()
	var c Condition
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return c
}

func TestCompileConditionErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{`{"all": [{"value": "{{trigger.record.stage_id}}", "op": "eq", "arg": "won"}, {"value": "x", "op": "equals", "arg": 1}]}`,
			`filters.all[1].op: tmpl: unknown operator "equals"; use one of eq, ne, contains, not_contains, starts_with, empty, not_empty, gt, gte, lt, lte, in, not_in, changed`},
		{`{"all": [], "any": [{}]}`, `filters.all: tmpl: empty group; add conditions or remove it`},
		{`{"any": [{"any": []}]}`, `filters.any[0].any: tmpl: empty group; add conditions or remove it`},
		{`{"all": [{}], "op": "eq"}`, `filters: tmpl: a condition is either a group (all, any) or a comparison (value, op, arg), not both`},
		{`{"value": "x"}`, `filters.op: tmpl: missing; use one of eq, ne, contains, not_contains, starts_with, empty, not_empty, gt, gte, lt, lte, in, not_in, changed`},
		{`{"op": "eq", "arg": 1}`, `filters.value: tmpl: missing`},
		{`{"value": "x", "op": "gt"}`, `filters.arg: tmpl: missing; gt compares value with arg`},
		{`{"value": "x", "op": "empty", "arg": ""}`, `filters.arg: tmpl: empty takes no arg; remove it`},
		{`{"value": "{{ upper( }}", "op": "empty"}`, `filters.value: tmpl: "{{ upper( }}": unexpected token EOF (1:6)`},
		{`{"value": "x", "op": "in", "arg": ["{{ nope() }}"]}`, `filters.arg[0]: tmpl: "{{ nope() }}": unknown function nope (1:1)`},
		{`{"value": 5, "op": "changed"}`, `filters.value: tmpl: changed needs one field, like "stage_id" or "{{trigger.record.stage_id}}"`},
		{`{"value": "{{ 1 }}", "op": "changed"}`, `filters.value: tmpl: changed needs one field, like "stage_id" or "{{trigger.record.stage_id}}"`},
		{`{"value": "{{ a.x }}{{ b.y }}", "op": "changed"}`, `filters.value: tmpl: changed needs one field, like "stage_id" or "{{trigger.record.stage_id}}"`},
	}
	for _, c := range cases {
		_, err := CompileCondition("filters", condFromJSON(t, c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s\n got: %v\nwant: %s", c.in, err, c.want)
		}
	}
	// Without a path the error still says where.
	_, err := CompileCondition("", Condition{Value: "x", Op: "nope", Arg: 1})
	if err == nil || !strings.HasPrefix(err.Error(), `op: tmpl: unknown operator "nope"`) {
		t.Errorf("got %v", err)
	}
}

func TestConditionOps(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	cases := []struct {
		cond string
		want bool
		err  string
	}{
		// eq, ne: numbers, dates, text
		{`{"value": "{{trigger.record.id}}", "op": "eq", "arg": "5"}`, true, ""},
		{`{"value": "10", "op": "eq", "arg": 10}`, true, ""},
		{`{"value": 10, "op": "eq", "arg": 10.0}`, true, ""},
		{`{"value": "1 500", "op": "eq", "arg": 1500}`, true, ""},
		{`{"value": "{{trigger.record.amount}}", "op": "eq", "arg": "1 500,5"}`, true, ""},
		{`{"value": "007", "op": "eq", "arg": 7}`, true, ""},
		{`{"value": " won ", "op": "eq", "arg": "won"}`, true, ""},
		{`{"value": "Won", "op": "eq", "arg": "won"}`, false, ""},
		{`{"value": "{{trigger.record.missing}}", "op": "eq", "arg": ""}`, true, ""},
		{`{"value": "{{trigger.record.flag}}", "op": "eq", "arg": "false"}`, true, ""},
		{`{"value": "2026-12-05", "op": "eq", "arg": "05.12.2026"}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "eq", "arg": "2026-12-05"}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "eq", "arg": "2026-12-05T07:30:00Z"}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "eq", "arg": "2026-12-05 10:30"}`, true, ""},
		{`{"value": "{{now()}}", "op": "eq", "arg": "{{trigger.record.created}}"}`, true, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "ne", "arg": "lost"}`, true, ""},
		{`{"value": "10", "op": "ne", "arg": 10}`, false, ""},
		{`{"value": "{{trigger.record.tags}}", "op": "eq", "arg": "vip, опт"}`, true, ""},
		// contains, not_contains, starts_with
		{`{"value": "{{trigger.record.name}}", "op": "contains", "arg": "ИВАН"}`, true, ""},
		{`{"value": "{{trigger.record.name}}", "op": "contains", "arg": "петр"}`, true, ""},
		{`{"value": "{{trigger.record.name}}", "op": "not_contains", "arg": "Сидор"}`, true, ""},
		{`{"value": "{{trigger.record.tags}}", "op": "contains", "arg": "vip"}`, true, ""},
		{`{"value": "{{trigger.record.tags}}", "op": "contains", "arg": "vi"}`, false, ""},
		{`{"value": "{{trigger.record.nested.a}}", "op": "contains", "arg": "2"}`, true, ""},
		{`{"value": "{{trigger.record.missing}}", "op": "contains", "arg": "x"}`, false, ""},
		{`{"value": "{{trigger.record.name}}", "op": "starts_with", "arg": "иВ"}`, true, ""},
		{`{"value": "{{trigger.record.name}}", "op": "starts_with", "arg": "Петров"}`, false, ""},
		{`{"value": "{{trigger.record.phones[0].value}}", "op": "starts_with", "arg": "8 (912)"}`, true, ""},
		// empty, not_empty
		{`{"value": "{{trigger.record.missing}}", "op": "empty"}`, true, ""},
		{`{"value": "{{trigger.record.empty}}", "op": "empty"}`, true, ""},
		{`{"value": "{{trigger.record.blank}}", "op": "empty"}`, true, ""},
		{`{"value": "{{trigger.record.no_tags}}", "op": "empty"}`, true, ""},
		{`{"value": "{{trigger.record.no_fields}}", "op": "empty"}`, true, ""},
		{`{"value": "{{trigger.record.zero}}", "op": "empty"}`, false, ""},
		{`{"value": "{{trigger.record.flag}}", "op": "not_empty"}`, true, ""},
		{`{"value": "{{trigger.record.tags}}", "op": "not_empty"}`, true, ""},
		// gt, gte, lt, lte
		{`{"value": "{{trigger.record.amount}}", "op": "gt", "arg": 1000}`, true, ""},
		{`{"value": "{{trigger.record.amount}}", "op": "gte", "arg": "1 500,50"}`, true, ""},
		{`{"value": "{{trigger.record.amount}}", "op": "lt", "arg": "1500.5"}`, false, ""},
		{`{"value": "{{trigger.record.big}}", "op": "gt", "arg": 12345678901233}`, true, ""},
		{`{"value": "{{trigger.record.price}}", "op": "lte", "arg": 99.9}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "gt", "arg": "2026-12-01"}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "lt", "arg": "{{ add_days(now(), 1) }}"}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "gte", "arg": "2026-12-05"}`, true, ""},
		{`{"value": "{{trigger.record.created}}", "op": "lte", "arg": "05.12.2026"}`, true, ""},
		{`{"value": "{{trigger.record.missing}}", "op": "gt", "arg": 5}`, false, ""},
		{`{"value": "{{trigger.record.name}}", "op": "gt", "arg": 5}`, false, `filters: tmpl: gt: cannot compare "  Иван Петров " with 5 (need two numbers or two dates)`},
		{`{"value": "{{trigger.record.created}}", "op": "gt", "arg": 5}`, false, `cannot compare "2026-12-05T10:30:00+03:00" with 5`},
		{`{"value": "{{trigger.record.tags}}", "op": "lt", "arg": 5}`, false, `cannot compare ["vip","опт"] with 5`},
		// in, not_in
		{`{"value": "{{trigger.record.stage_id}}", "op": "in", "arg": "new, won | lost"}`, true, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "in", "arg": "new\nwon"}`, true, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "in", "arg": ["a", "{{trigger.record.stage_id}}"]}`, true, ""},
		{`{"value": "{{trigger.record.id}}", "op": "in", "arg": [1, 5]}`, true, ""},
		{`{"value": "{{trigger.record.id}}", "op": "in", "arg": "1; 5"}`, true, ""},
		{`{"value": "{{trigger.record.id}}", "op": "in", "arg": 5}`, true, ""},
		{`{"value": "{{trigger.record.tags}}", "op": "in", "arg": "опт;x"}`, true, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "in", "arg": "won1, wo"}`, false, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "not_in", "arg": "lost|new"}`, true, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "not_in", "arg": "{{trigger.record.missing}}"}`, true, ""},
		// changed
		{`{"value": "stage_id", "op": "changed"}`, true, ""},
		{`{"value": "{{trigger.record.stage_id}}", "op": "changed"}`, true, ""},
		{`{"value": "{{ trigger.event.changes.stage_id.new }}", "op": "changed"}`, false, ""},
		{`{"value": "stage_id", "op": "changed", "arg": "won"}`, true, ""},
		{`{"value": "stage_id", "op": "changed", "arg": "lost"}`, false, ""},
		{`{"value": "amount", "op": "changed"}`, false, ""},
		{`{"value": "title", "op": "changed"}`, true, ""},
		{`{"value": "name", "op": "changed"}`, false, ""},
	}
	for _, c := range cases {
		cond, err := CompileCondition("filters", condFromJSON(t, c.cond))
		if err != nil {
			t.Errorf("%s: %v", c.cond, err)
			continue
		}
		got, tr, err := cond.Eval(env, testOpts()...)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want %q", c.cond, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want || tr.Result != got {
			t.Errorf("%s: %v (trace %v), %v; want %v", c.cond, got, tr.Result, err, c.want)
		}
	}
}

func TestConditionGroups(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	eq := func(a string) string {
		return `{"value": "{{trigger.record.stage_id}}", "op": "eq", "arg": "` + a + `"}`
	}
	cases := []struct {
		cond string
		want bool
	}{
		{`{}`, true},
		{`{"all": [` + eq("won") + `]}`, true},
		{`{"all": [` + eq("won") + `, ` + eq("lost") + `]}`, false},
		{`{"any": [` + eq("lost") + `, ` + eq("won") + `]}`, true},
		{`{"any": [` + eq("lost") + `, ` + eq("new") + `]}`, false},
		{`{"all": [` + eq("won") + `], "any": [` + eq("lost") + `, ` + eq("won") + `]}`, true},
		{`{"all": [` + eq("won") + `], "any": [` + eq("lost") + `]}`, false},
		{`{"all": [{"any": [` + eq("lost") + `, {"all": [` + eq("won") + `, {}]}]}]}`, true},
	}
	for _, c := range cases {
		cond, err := CompileCondition("when", condFromJSON(t, c.cond))
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		got, _, err := cond.Eval(env)
		if err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.cond, got, err, c.want)
		}
	}
	var none *Cond
	if ok, tr, err := none.Eval(env); !ok || !tr.Result || err != nil || none.Refs() != nil {
		t.Errorf("nil Cond: %v %+v %v", ok, tr, err)
	}
}

func TestConditionTrace(t *testing.T) {
	t.Parallel()
	cond, err := CompileCondition("filters", condFromJSON(t, `{"all": [
		{"value": "{{trigger.record.amount}}", "op": "gt", "arg": 1000},
		{"any": [
			{"value": "{{trigger.record.stage_id}}", "op": "eq", "arg": "lost"},
			{"value": "stage_id", "op": "changed", "arg": "won"}
		]},
		{"value": "{{trigger.record.missing}}", "op": "empty"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	ok, tr, err := cond.Eval(testEnv(t))
	if err != nil || !ok {
		t.Fatalf("%v, %v", ok, err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"path":"filters","op":"all","result":true,"items":[` +
		`{"path":"filters.all[0]","op":"gt","value":"1500.50","arg":1000,"result":true},` +
		`{"path":"filters.all[1]","op":"any","result":true,"items":[` +
		`{"path":"filters.all[1].any[0]","op":"eq","value":"won","arg":"lost","result":false},` +
		`{"path":"filters.all[1].any[1]","op":"changed","value":{"new":"won","old":"new"},"arg":"won","result":true,"note":"field stage_id"}]},` +
		`{"path":"filters.all[2]","op":"empty","result":true}]}`
	if string(b) != want {
		t.Errorf("trace\n got %s\nwant %s", b, want)
	}

	// Short-circuit: the first false of an all group ends it.
	cond, _ = CompileCondition("f", condFromJSON(t, `{"all": [{"value": "a", "op": "eq", "arg": "b"}, {"value": "{{ 1/0 }}", "op": "empty"}]}`))
	ok, tr, err = cond.Eval(nil)
	if ok || err != nil || len(tr.Items) != 1 {
		t.Errorf("%v %+v %v", ok, tr, err)
	}
	// Long values are shortened in the trace, not in the decision.
	long := strings.Repeat("я", 300)
	cond, _ = CompileCondition("f", Condition{Value: long, Op: "contains", Arg: "яяя"})
	ok, tr, _ = cond.Eval(nil)
	if s, _ := tr.Value.(string); !ok || len(s) > 210 || !strings.HasSuffix(s, "…") {
		t.Errorf("trace value %q", tr.Value)
	}
}

func TestConditionEvalErrors(t *testing.T) {
	t.Parallel()
	cond, err := CompileCondition("filters", condFromJSON(t, `{"any": [{"value": "x", "op": "eq", "arg": "y"}, {"value": "{{ repeat('x', 2000000) }}", "op": "empty"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, tr, err := cond.Eval(nil)
	want := `filters.any[1].value: tmpl: "{{ repeat('x', 2000000) }}": memory budget exceeded (1:1)`
	if err == nil || err.Error() != want || !errors.Is(err, ErrLimit) {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if tr.Result || len(tr.Items) != 2 {
		t.Errorf("partial trace %+v", tr)
	}
}

func TestConditionRefs(t *testing.T) {
	t.Parallel()
	cond, err := CompileCondition("when", condFromJSON(t, `{"all": [
		{"value": "{{steps.client.id}}", "op": "not_empty"},
		{"value": "{{trigger.record.stage_id}}", "op": "changed", "arg": "{{ steps.deal.stage }}"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cond.Refs() {
		got = append(got, r.Field+"="+r.String())
	}
	want := "when.all[0].value=steps.client.id when.all[1].value=trigger.event.changes.stage_id when.all[1].arg=steps.deal.stage"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}
