package events

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fuzzRec has what a record's JSON holds: strings that may hold quotes,
// backslashes and brackets, numbers, lists, nested objects, pointers.
type fuzzRec struct {
	ID      int64             `json:"id"`
	Title   string            `json:"title"`
	Sum     float64           `json:"sum"`
	Tags    []string          `json:"tags"`
	Extra   map[string]string `json:"extra"`
	Address *struct {
		City string   `json:"city"`
		Zip  []string `json:"zip"`
	} `json:"address"`
	Empty   string `json:"empty"`
	Visible bool   `json:"visible"`
}

// FuzzCreateChanges: CreateChanges, which splits json.Marshal's output
// itself, says what Diff(nil, cur), which decodes it, says.
func FuzzCreateChanges(f *testing.F) {
	f.Add("Заявка", "x", "k", `v"}],{`, 1.5, true)
	f.Add(`a\"b`, `}`, `"`, `\`, 0.0, false)
	f.Add("", "", "", "", -3.0, false)
	f.Fuzz(func(t *testing.T, title, tag, key, val string, sum float64, visible bool) {
		rec := fuzzRec{ID: 7, Title: title, Sum: sum, Visible: visible}
		if tag != "" {
			rec.Tags = []string{tag, title}
		}
		if key != "" {
			rec.Extra = map[string]string{key: val, "b": tag}
			rec.Address = &struct {
				City string   `json:"city"`
				Zip  []string `json:"zip"`
			}{City: val, Zip: []string{key}}
		}
		enc, err := CreateChanges(rec)
		if err != nil {
			return // a float json cannot write (NaN, Inf): Diff refuses it too
		}
		want, err := Diff(nil, rec)
		if err != nil {
			t.Fatalf("Diff fails where CreateChanges does not: %v", err)
		}
		var got map[string]Change
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("CreateChanges wrote %s: %v", enc, err)
		}
		if !reflect.DeepEqual(normalize(t, got), normalize(t, want)) {
			t.Fatalf("CreateChanges %s differs from Diff %+v", enc, want)
		}
	})
}

// TestMembers: the splitter takes json.Marshal's objects apart and
// refuses what is not one, so that CreateChanges decodes it instead.
func TestMembers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // key=value
		ok   bool
	}{
		{`{}`, nil, true},
		{`{"a":1}`, []string{`"a"=1`}, true},
		{`{"a":"x,}\"","b":{"c":[1,{"d":"]"}]},"e":null}`, []string{`"a"="x,}\""`, `"b"={"c":[1,{"d":"]"}]}`, `"e"=null`}, true},
		{`null`, nil, false},
		{`[1]`, nil, false},
		{`{"a\"b":1}`, nil, false},
		{`{"a":1`, []string{}, false},
		{`{"a":1]`, nil, false},
		{`{a:1}`, nil, false},
	} {
		var got []string
		ok := members([]byte(c.in), func(k, v []byte) { got = append(got, string(k)+"="+string(v)) })
		if ok != c.ok || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("members(%s) = %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
	}
	// A map with a key json.Marshal escapes goes the decoding way and
	// says the same.
	enc, err := CreateChanges(map[string]any{`<a"b>`: 1, "title": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != `{"\u003ca\"b\u003e":{"old":null,"new":1},"title":{"old":null,"new":"x"}}` {
		t.Errorf("escaped key: %s", enc)
	}
	// Sorted by what the keys say, as json.Marshal sorts Diff's map: "<"
	// before "A", though its escape "\u003c" sorts after.
	m := map[string]any{"<": 1, "A": 2, "&b": map[string]any{}, "z": "y"}
	enc, err = CreateChanges(m)
	if err != nil {
		t.Fatal(err)
	}
	diff, err := Diff(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal(diff); string(enc) != string(want) {
		t.Errorf("CreateChanges %s, json.Marshal(Diff) %s", enc, want)
	}
}

// TestIsEmpty: a nested object is empty when every member is, split as
// json.Marshal writes it or decoded when written otherwise.
func TestIsEmpty(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`:                             true,
		`{"a":null,"b":"","c":{"d":[]}}`: true,
		`{"a":null,"b":"x"}`:             false,
		`{"a":{"b":{"c":1}}}`:            false,
		`{ "a" : null }`:                 true,
		`{"\u0061":null}`:                true,
		`{"\u0061":2}`:                   false,
		`{"a":`:                          false,
		`"x"`:                            false,
		`0`:                              true,
	} {
		if got := isEmpty([]byte(in)); got != want {
			t.Errorf("isEmpty(%s) = %v, want %v", in, got, want)
		}
	}
}
