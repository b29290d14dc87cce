package tmpl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"", "plain", "{{ trigger.record.id }}", "id={{trigger.record.id}}", "{{ upper(", "{{ {a: {b: 1}} }}",
	`{{ replace(x, "}}", "") }}`, "{{ map(trigger.record.phones, phone(.value)) }}",
	"{{ date(now(), 'D MMMM YYYY [в] HH:mm', 'Asia/Yekaterinburg') }}", "{{ number(num(trigger.record.amount), 2) }}",
	"{{ money(trigger.record.price, 'USD') }} {{ json(steps) }}", "{{ substr(trigger.record.name, -3, 2) }}",
	"{{ reduce(1..10, #acc + #acc, 'x') }}", "{{ trigger.record.name[1:-1] }}", "{{ 1 / 0 }}", "{{ let x = 1; x }}",
	"{{ split(join(trigger.record.tags, '|'), '|') }}", "{{ default(trigger.record.missing, add_days(now(), 2)) }}",
	"{{ sortBy(trigger.record.nested.a, string(#)) }}", "{{ groupBy(1..5, # % 2) }}", "{{ trigger?.record?.x ?? 'n' }}",
}

// FuzzTemplate: compiling and rendering any text against a fixed
// environment never panics, never reports an internal error, and never
// renders more than MaxTextLen bytes of text.
func FuzzTemplate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	env := testEnv(f)
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := Compile(src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tmpl: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		got, err := tp.Render(env, testOpts()...)
		if err != nil {
			if errors.Is(err, errInternal) {
				t.Fatalf("%q: %v", src, err)
			}
			return
		}
		if s, ok := got.(string); ok && len(s) > MaxTextLen {
			t.Fatalf("%q rendered %d bytes", src, len(s))
		}
		if tp.IsLiteral() && got != src {
			t.Fatalf("literal %q rendered %#v", src, got)
		}
		_ = tp.Refs()
	})
}

// FuzzCondition: any condition JSON compiles or fails cleanly, and
// evaluation never panics.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"value": "{{trigger.record.id}}", "op": "eq", "arg": "5"}`,
		`{"all": [{"value": "x", "op": "in", "arg": "a, x"}], "any": [{"value": "stage_id", "op": "changed", "arg": "won"}]}`,
		`{"value": "{{trigger.record.created}}", "op": "gt", "arg": "2026-12-01"}`,
		`{"value": "{{trigger.record.tags}}", "op": "contains", "arg": "vip"}`,
		`{"value": "1 500,50", "op": "lte", "arg": 1500.5}`, `{"value": "", "op": "empty"}`,
	} {
		f.Add(s)
	}
	env := testEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		var c Condition
		if json.Unmarshal([]byte(raw), &c) != nil {
			return
		}
		cond, err := CompileCondition("f", c)
		if err != nil {
			return
		}
		ok, tr, err := cond.Eval(env, testOpts()...)
		if err != nil {
			if errors.Is(err, errInternal) {
				t.Fatalf("%s: %v", raw, err)
			}
			return
		}
		if ok != tr.Result {
			t.Fatalf("%s: result %v, trace %v", raw, ok, tr.Result)
		}
		if _, err := json.Marshal(tr); err != nil {
			t.Fatalf("%s: trace does not encode: %v", raw, err)
		}
	})
}

// FuzzNumber: parseNumber never panics, and what it accepts survives a
// round trip through number() formatting.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"1500", "1 500,50", "1,234.56", "1.234,56", "-0,5", "05.12.2026", "+7 912", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseNumber(s)
		if !ok {
			return
		}
		text, err := plainDecimal(n, -1)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		back, ok := parseNumber(russianNumber(text))
		if !ok {
			t.Fatalf("%q → %q does not parse back", s, russianNumber(text))
		}
		if n.isInt && (!back.isInt || back.i != n.i) {
			t.Fatalf("%q → %q → %#v", s, russianNumber(text), back)
		}
	})
}

// FuzzDate: date parsing and layouts never panic.
func FuzzDate(f *testing.F) {
	for _, s := range []string{"2026-12-05", "05.12.2026 10:30", "2026-12-05T10:30:00+03:00", "1796455800"} {
		f.Add(s, "D MMMM YYYY [в] HH:mm dddd")
	}
	f.Fuzz(func(t *testing.T, in, layout string) {
		m, ok := parseMoment(in, moscow(), true)
		if !ok {
			return
		}
		if len(layout) > 256 {
			layout = layout[:256]
		}
		_ = formatDate(m.in(moscow()), layout)
	})
}
