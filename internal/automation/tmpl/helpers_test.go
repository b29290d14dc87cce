package tmpl

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// testNow is 10:30 in Moscow on Saturday, 5 December 2026.
var testNow = time.Date(2026, 12, 5, 7, 30, 0, 0, time.UTC)

func testOpts() []Option {
	return []Option{WithNow(func() time.Time { return testNow })}
}

const testEnvJSON = `{
  "trigger": {
    "record": {
      "id": 5, "name": "  Иван Петров ", "amount": "1500.50", "price": 99.9,
      "stage_id": "won", "empty": "", "blank": "  ", "zero": 0, "flag": false,
      "phones": [{"value": "8 (912) 345-67-89"}, {"value": "+7 495 123-45-67"}],
      "tags": ["vip", "опт"], "no_tags": [], "no_fields": {},
      "created": "2026-12-05T10:30:00+03:00", "birthday": "1990-03-08",
      "nested": {"a": [1, 2, {"b": "c"}]}, "big": 12345678901234
    },
    "event": {"type": "deal.updated", "changes": {
      "stage_id": {"old": "new", "new": "won"},
      "amount": {"old": "100", "new": 100},
      "title": {"old": null, "new": "Заказ"}
    }}
  },
  "steps": {"client": {"id": 42, "result": {"ok": true}}}
}`

func testEnv(t testing.TB) map[string]any {
	t.Helper()
	v, err := FromJSON([]byte(testEnvJSON))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

type renderCase struct {
	src  string
	want any    // the rendered value, when err is empty
	err  string // a substring of the error
}

// runRender compiles and renders each case against the test environment
// with the test clock.
func runRender(t *testing.T, cases []renderCase) {
	t.Helper()
	env := testEnv(t)
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			t.Parallel()
			got, err := renderString(c.src, env)
			checkResult(t, got, err, c.want, c.err)
		})
	}
}

func renderString(src string, env map[string]any) (any, error) {
	tp, err := Compile(src)
	if err != nil {
		return nil, err
	}
	return tp.Render(env, testOpts()...)
}

func checkResult(t *testing.T, got any, err error, want any, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil {
			t.Fatalf("got %#v, want an error with %q", got, wantErr)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %q, want it to contain %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if gt, ok := got.(time.Time); ok {
		if wt, ok := want.(time.Time); ok && gt.Equal(wt) {
			return
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v (%T), want %#v (%T)", got, got, want, want)
	}
}
