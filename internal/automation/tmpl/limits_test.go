package tmpl

import (
	"errors"
	"strings"
	"testing"
)

// Hostile or careless expressions fail with an error matching ErrLimit
// instead of hanging or eating memory. The tests check the error, not
// the time.
func TestLimits(t *testing.T) {
	t.Parallel()
	list := make([]any, 1000)
	for i := range list {
		list[i] = int64(i)
	}
	env := map[string]any{"L": list, "s": strings.Repeat("я", 50)}
	cases := []string{
		"{{ map(1..100000000, #) }}",
		"{{ len(1..1000000) }}",
		"{{ map(1..1000, map(1..1000, #)) }}",
		"{{ repeat('x', 1000000000) }}",
		"{{ repeat('x', 600000) }}{{ repeat('x', 600000) }}",
		"{{ reduce(1..40, #acc + #acc, 'xx') }}",
		"{{ let a = repeat('x', 1000); let b = a+a; let c = b+b; let d = c+c; let e = d+d; let f = e+e; let g = f+f; let h = g+g; let i = h+h; let j = i+i; let k = j+j; k + k }}",
		"{{ reduce(1..60, [#acc, #acc], 1) }}",
		"x{{ reduce(1..60, [#acc, #acc], 1) }}",
		"{{ json(reduce(1..60, [#acc, #acc], 1)) }}",
		"{{ string(reduce(1..60, [#acc, #acc], 1)) }}",
		"{{ count(L, count(L, count(L, true) == 1000) == 1000) }}",
		"{{ all(L, all(L, all(L, # >= 0))) }}",
		"{{ join(map(1..200000, 'xxxxxxxxxx'), '') }}",
		"{{ map(1..100000, upper(s)) }}",
		"{{ map(L, map(L, replace(s, 'я', 'ю'))) }}",
		"{{ replace(repeat('a', 500000), 'a', 'aaa') }}",
		"{{ let big = repeat('x', 900000); map(1..100000, len(big)) }}",
		"{{ map(1..100000, phone('+1 202 555 0100')) }}",
		"{{ let layout = repeat('dddd ', 40); map(1..100000, date(now(), layout)) }}",
		"{{ reduce(1..100000, [#acc], 1) }}",
		"x{{ reduce(1..100000, [#acc], 1) }}",
		"{{ json(reduce(1..5000, ({a: #acc}), 1)) }}",
		"{{ sum(map(L, len(json(L)))) + sum(map(L, len(json(L)))) + sum(map(L, len(json(L)))) }}",
	}
	for _, src := range cases {
		t.Run(src[:min(len(src), 60)], func(t *testing.T) {
			t.Parallel()
			got, err := renderString(src, env)
			if err == nil {
				t.Fatalf("rendered %d bytes of %T, want a limit error", len(toText(got)), got)
			}
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v does not match ErrLimit", err)
			}
		})
	}
}

func toText(v any) string {
	s, _ := textOf(nil, v)
	return s
}

// Expressions too big or too deep fail at compile time, and nesting does
// not crash the parser.
func TestCompileLimits(t *testing.T) {
	t.Parallel()
	long := "{{ 1 }}" + strings.Repeat("x", MaxSourceLen)
	if _, err := Compile(long); !errors.Is(err, ErrLimit) {
		t.Errorf("long source: %v", err)
	}
	if _, err := Compile(strings.Repeat("{{1}}", 501)); !errors.Is(err, ErrLimit) {
		t.Errorf("many expressions: %v", err)
	}
	literal := strings.Repeat("x", 2*MaxSourceLen) // literals have no bound: they cost nothing
	if _, err := Compile(literal); err != nil {
		t.Errorf("long literal: %v", err)
	}
	for _, src := range []string{
		"{{ " + strings.Repeat("1+", 3000) + "1 }}",
		"{{ " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + " }}",
		"{{ " + strings.Repeat("upper(", 3000) + "'x'" + strings.Repeat(")", 3000) + " }}",
		"{{ " + strings.Repeat("a.", 5000) + "b }}",
	} {
		if _, err := Compile(src); err == nil || !strings.Contains(err.Error(), "exceeds maximum allowed nodes") {
			t.Errorf("%.30s…: %v", src, err)
		}
	}
	// Parentheses make no nodes; deep ones must still be harmless.
	deep := "{{ " + strings.Repeat("(", 20000) + "1" + strings.Repeat(")", 20000) + " }}"
	if tp, err := Compile(deep); err == nil {
		if v, err := tp.Render(nil); err != nil || v != int64(1) {
			t.Errorf("deep parentheses: %v, %v", v, err)
		}
	}
}

// The budget is per render: a template that fits renders again and again.
func TestBudgetIsPerRender(t *testing.T) {
	t.Parallel()
	tp := MustCompile("{{ len(repeat('x', 500000) + repeat('y', 400000)) }}")
	for i := 0; i < 20; i++ {
		if v, err := tp.Render(nil); err != nil || v != int64(900000) {
			t.Fatalf("render %d: %v, %v", i, v, err)
		}
	}
}
