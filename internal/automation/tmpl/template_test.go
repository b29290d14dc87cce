package tmpl

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRenderTyped(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{trigger.record.id}}", want: int64(5)},
		{src: "  {{ trigger.record.id }}\n", want: int64(5)},
		{src: "{{ trigger.record.price }}", want: 99.9},
		{src: "{{ trigger.record.flag }}", want: false},
		{src: "{{ trigger.record.missing }}", want: nil},
		{src: "{{ trigger.record.tags }}", want: []any{"vip", "опт"}},
		{src: "{{ steps.client.result }}", want: map[string]any{"ok": true}},
		{src: "{{ steps.client.id * 2 }}", want: int64(84)},
		{src: "{{ 10 / 4 }}", want: 2.5},
		{src: "{{ 10 / 5 }}", want: int64(2)}, // a whole float is int64
		{src: "{{ 1..3 }}", want: []any{int64(1), int64(2), int64(3)}},
		{src: "{{ {a: {b: 1}} }}", want: map[string]any{"a": map[string]any{"b": int64(1)}}},
		{src: `{{ "{{" }}`, want: "{{"},
		{src: "{{ now() }}", want: testNow},
		{src: "{{ trigger.record.missing ?? 'нет' }}", want: "нет"},
		{src: "{{ trigger.record.id > 3 ? 'много' : 'мало' }}", want: "много"},
		{src: "{{ let r = trigger.record; r.id + len(r.tags) }}", want: int64(7)},
	})
}

func TestRenderText(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "", want: ""},
		{src: "Привет", want: "Привет"},
		{src: "id={{trigger.record.id}}", want: "id=5"},
		{src: "x{{ trigger.record.missing }}y", want: "xy"},
		{src: "{{ 1500.5 }} ₽", want: "1500.5 ₽"},
		{src: "{{ 0.1 + 0.2 }}!", want: "0.3!"},
		{src: "{{ 1e21 }}!", want: "1000000000000000000000!"},
		{src: "{{ -2.50 }}!", want: "-2.5!"},
		{src: "{{ trigger.record.big }}!", want: "12345678901234!"},
		{src: "{{ true }} {{ false }}", want: "true false"},
		{src: "Теги: {{ trigger.record.tags }}", want: "Теги: vip, опт"},
		{src: "{{ [1, nil, 'a', [2, 3], {k: 1}] }}!", want: `1, a, [2,3], {"k":1}!`},
		{src: "{{ steps.client.result }}!", want: `{"ok":true}!`},
		{src: "{{ {b: 'x<y>&\"', a: nil} }}!", want: `{"a":null,"b":"x<y>&\""}!`},
		{src: "{{ now() }}!", want: "05.12.2026 10:30!"},
		{src: "{{ add_hours(now(), 1) }} / {{ trigger.record.id }}", want: "05.12.2026 11:30 / 5"},
		{src: "{{a}}{{b}}", want: ""},
		{src: "{{ {a: 1} }} }}", want: `{"a":1} }}`},
		{src: `{{ replace("a}}b", "}}", "-") }}.`, want: "a-b."},
	})
}

func TestLenientAccess(t *testing.T) {
	t.Parallel()
	runRender(t, []renderCase{
		{src: "{{ trigger.record.phones[0].value }}", want: "8 (912) 345-67-89"},
		{src: "{{ trigger.record.phones[-1].value }}", want: "+7 495 123-45-67"},
		{src: "{{ trigger.record.phones[5].value }}", want: nil},
		{src: "{{ trigger.record.phones[-5].value }}", want: nil},
		{src: "{{ trigger.record.no_phones[0].value }}", want: nil},
		{src: "{{ nobody.knows.this }}", want: nil},
		{src: `{{ trigger["record"]["name"] }}`, want: "  Иван Петров "},
		{src: "{{ trigger.record.name.first }}", want: nil},
		{src: "{{ trigger.record.id.x }}", want: nil},
		{src: "{{ trigger.record.tags.first }}", want: nil},
		{src: "{{ trigger.record.phones['0'] }}", want: nil},
		{src: "{{ trigger.record.phones[0.5] }}", want: nil},
		{src: "{{ {'5': 'five'}[5] }}", want: "five"},
		{src: "{{ trigger.record.nested.a[2].b }}", want: "c"},
		{src: "{{ trigger?.record?.id }}", want: int64(5)},
		{src: "{{ map(trigger.record.phones, .value) }}", want: []any{"8 (912) 345-67-89", "+7 495 123-45-67"}},
		{src: "{{ map(trigger.record.no_phones, .value) }}", want: []any{}},
		{src: "{{ filter(trigger.record.missing, # > 1) }}", want: []any{}},
		{src: "{{ len(trigger.record.missing) }}", want: int64(0)},
		{src: "{{ first(trigger.record.missing) }}", want: nil},
		{src: "{{ trigger.record.name[2:6] }}", want: "Иван"},
		{src: "{{ trigger.record.name[-7:] }}", want: "Петров "},
		{src: "{{ trigger.record.name[50:] }}", want: ""},
		{src: "{{ trigger.record.tags[1:9] }}", want: []any{"опт"}},
		{src: "{{ trigger.record.missing[1:2] }}", want: nil},
		// What stays an error: calls, types, arithmetic.
		{src: "{{ trigger.record.missing + 1 }}", err: "cannot compute nil + number"},
		{src: "{{ 'a' + 1 }}", err: "cannot compute text + number"},
		{src: "{{ 1 / 0 }}", err: "division by zero"},
		{src: "{{ 7 % 0 }}", err: "division by zero"},
		{src: "{{ trigger.record.name[1.5:] }}", err: "slice bound must be a whole number"},
		{src: "{{ trigger.record.id[0:1] }}", err: "cannot slice number"},
	})
}

// A Go value in the environment shows its data, never its methods.
func TestNoMethods(t *testing.T) {
	t.Parallel()
	env := map[string]any{"t": testNow, "d": time.Hour}
	for _, src := range []string{"{{ t.Year }}", "{{ t.Unix }}", "{{ d.Hours }}", "{{ now().Location }}"} {
		got, err := renderString(src, env)
		if err != nil || got != nil {
			t.Errorf("%s = %#v, %v; want nil", src, got, err)
		}
	}
	for _, src := range []string{"{{ t.Year() }}", "{{ now().AddDate(1, 0, 0) }}"} {
		if _, err := Compile(src); err == nil || !strings.Contains(err.Error(), "only functions can be called") {
			t.Errorf("%s: error %v, want a refusal", src, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ src, want string }{
		{"{{ upper( }}", `tmpl: "{{ upper( }}": unexpected token EOF (1:6)`},
		{"Сумма {{ 1 + }} ₽", `tmpl: "{{ 1 + }}": unexpected token EOF (1:3)`},
		{"{{ nope(1) }}", `tmpl: "{{ nope(1) }}": unknown function nope (1:1)`},
		{"{{ toJSON(1) }}", `tmpl: "{{ toJSON(1) }}": unknown function toJSON (1:1)`},
		{"{{ upper }}", `tmpl: "{{ upper }}": upper is a function; call it: upper(…) (1:1)`},
		{"{{ $env }}", `tmpl: "{{ $env }}": $env is not available; name a root such as trigger or steps (1:1)`},
		{"{{ now().Unix() }}", `tmpl: "{{ now().Unix() }}": only functions can be called, like upper(x); methods of values are not available (1:7)`},
		{"{{ }}", `tmpl: "{{  }}": empty expression`},
		{"Привет, {{ name", `tmpl: "{{" at 1:9 has no closing "}}"`},
		{"a\nb {{ x }} {{ y", `tmpl: "{{" at 2:11 has no closing "}}"`},
		{`{{ "unterminated }}`, `tmpl: "{{ \"unterminated }}": literal not terminated (1:14)`},
		{"{{ map(1..3, # + ) }}", `tmpl: "{{ map(1..3, # + ) }}": unexpected token Bracket(")") (1:15)`},
	}
	for _, c := range cases {
		_, err := Compile(c.src)
		if err == nil || err.Error() != c.want {
			t.Errorf("Compile(%q)\n got: %v\nwant: %s", c.src, err, c.want)
		}
	}
	// The position is also available to an editor.
	_, err := Compile("ab {{ upper( }}")
	var e *Error
	if !errors.As(err, &e) || e.Offset != 3 || e.Line != 1 || e.Column != 6 || e.Expr != "upper(" {
		t.Errorf("Error = %#v", e)
	}
}

func TestLiteral(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "Привет", "{ not } a template }}", "{x}"} {
		tp, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !tp.IsLiteral() || tp.Source() != src || len(tp.Refs()) != 0 {
			t.Errorf("%q: literal=%v source=%q refs=%v", src, tp.IsLiteral(), tp.Source(), tp.Refs())
		}
		got, err := tp.Render(nil)
		if err != nil || got != src {
			t.Errorf("%q renders %#v, %v", src, got, err)
		}
	}
	tp := MustCompile("a {{ 1 }}")
	if tp.IsLiteral() || tp.Source() != "a {{ 1 }}" {
		t.Errorf("not a literal: %v %q", tp.IsLiteral(), tp.Source())
	}
}

func TestRenderDoesNotModifyEnv(t *testing.T) {
	t.Parallel()
	env := testEnv(t)
	before := fmt.Sprint(env)
	got, err := MustCompile("{{ trigger.record }}").Render(env)
	if err != nil {
		t.Fatal(err)
	}
	got.(map[string]any)["id"] = "changed"
	if fmt.Sprint(env) != before {
		t.Error("the environment changed")
	}
	if _, ok := env[runKey]; ok {
		t.Error("the run leaked into the caller's map")
	}
}

// One compiled template rendered from many goroutines (run with -race).
func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	tp := MustCompile("{{ upper(trigger.record.name) }} {{ date(now(), 'HH:mm') }} {{ join(map(trigger.record.tags, upper(#)), '+') }}")
	env := testEnv(t)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			at := time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC)
			got, err := tp.Render(env, WithNow(func() time.Time { return at }))
			want := fmt.Sprintf("  ИВАН ПЕТРОВ  %02d:00 VIP+ОПТ", (i+3)%24)
			if err != nil || got != want {
				t.Errorf("goroutine %d: %q, %v; want %q", i, got, err, want)
			}
		}(i)
	}
	wg.Wait()
}

// Compiling from many goroutines shares nothing mutable (run with -race).
func TestConcurrentCompile(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			src := fmt.Sprintf("{{ upper(steps.s%d.name) }} {{ date(now()) }} {{ map(x, #.y + %d) }}", i, i)
			tp, err := Compile(src)
			if err != nil {
				t.Error(err)
				return
			}
			if refs := tp.Refs(); len(refs) != 2 || refs[0].String() != fmt.Sprintf("steps.s%d.name", i) {
				t.Errorf("refs %v", refs)
			}
		}(i)
	}
	wg.Wait()
}

func TestWithLocation(t *testing.T) {
	t.Parallel()
	ekb, err := time.LoadLocation("Asia/Yekaterinburg")
	if err != nil {
		t.Fatal(err)
	}
	tp := MustCompile("{{ now() }} | {{ date('2026-12-05 10:00', 'HH:mm') }} | {{ date('2026-12-05 10:00', 'HH:mm', 'Europe/Moscow') }}")
	got, err := tp.Render(nil, WithNow(func() time.Time { return testNow }), WithLocation(ekb))
	if want := "05.12.2026 12:30 | 10:00 | 08:00"; err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

func TestErrorsNameTheExpression(t *testing.T) {
	t.Parallel()
	_, err := renderString("Итого: {{ num(trigger.record.name) }}", testEnv(t))
	want := `tmpl: "{{ num(trigger.record.name) }}": num: "  Иван Петров " is not a number (1:1)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Offset != len("Итого: ") {
		t.Errorf("Error = %#v", e)
	}
}

func TestSingleDetection(t *testing.T) {
	t.Parallel()
	for src, single := range map[string]bool{
		"{{ 1 }}": true, " \n{{ 1 }}\t": true, "a{{ 1 }}": false, "{{ 1 }}{{ 2 }}": false, "{{ 1 }} .": false,
	} {
		got, err := MustCompile(src).Render(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, isText := got.(string); isText == single {
			t.Errorf("%q rendered %#v", src, got)
		}
	}
	if got, _ := MustCompile("{{ 1 }}").Render(nil); !reflect.DeepEqual(got, int64(1)) {
		t.Errorf("got %#v", got)
	}
}

func BenchmarkRender(b *testing.B) {
	env := testEnv(b)
	for _, src := range []string{
		"{{ trigger.record.id }}",
		"Сделка №{{ trigger.record.id }} на {{ money(trigger.record.amount) }}, клиент {{ trim(trigger.record.name) }}, {{ date(now(), 'D MMMM YYYY') }}",
	} {
		tp := MustCompile(src)
		b.Run(src[:min(len(src), 30)], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tp.Render(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
