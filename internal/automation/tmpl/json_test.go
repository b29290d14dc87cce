package tmpl

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFromJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want any
		err  bool
	}{
		{`5`, int64(5), false},
		{`5.0`, int64(5), false},
		{`-0.0`, int64(0), false},
		{`1500.5`, 1500.5, false},
		{`1e3`, int64(1000), false},
		{`9223372036854775807`, int64(9223372036854775807), false},
		{`9223372036854775808`, 9223372036854775808.0, false},
		{`1e400`, nil, true},
		{`{"id": 5, "tags": ["a", 1, 2.5, null, true], "m": {}}`,
			map[string]any{"id": int64(5), "tags": []any{"a", int64(1), 2.5, nil, true}, "m": map[string]any{}}, false},
		{`{"a": 1} {"b": 2}`, nil, true},
		{`{"a": `, nil, true},
		{``, nil, true},
		{strings.Repeat("[", 2000) + strings.Repeat("]", 2000), nil, true}, // deeper than MaxDepth
	}
	for _, c := range cases {
		got, err := FromJSON([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("FromJSON(%s) error %v", c.in, err)
			continue
		}
		if !c.err && !reflect.DeepEqual(got, c.want) {
			t.Errorf("FromJSON(%s) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	var decoded any
	if err := json.Unmarshal([]byte(`{"id": 5, "price": 99.9, "list": [1, 2.0]}`), &decoded); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cases := []struct{ in, want any }{
		{decoded, map[string]any{"id": int64(5), "price": 99.9, "list": []any{int64(1), int64(2)}}},
		{json.Number("12"), int64(12)},
		{json.Number("1.25"), 1.25},
		{3, int64(3)},
		{uint8(3), int64(3)},
		{float32(0.5), 0.5},
		{[]string{"a"}, []any{"a"}},
		{map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{map[int]string{1: "a"}, map[string]any{"1": "a"}},
		{now, now},
		{nil, nil},
	}
	for _, c := range cases {
		if got := Normalize(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Normalize(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
	// The input is not modified.
	m := map[string]any{"n": 1.0}
	Normalize(m)
	if m["n"] != 1.0 {
		t.Error("Normalize modified its input")
	}
}
