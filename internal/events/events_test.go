package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 7, 0, 0, 123456000, time.UTC)
	for _, ev := range []Event{
		{ID: 1, Entity: "lead", RecordID: 7, Action: Create, Actor: "user:1", ActorUserID: 1, CreatedAt: at,
			Changes: map[string]Change{"title": {Old: json.RawMessage("null"), New: json.RawMessage(`"Заявка \"с сайта\" <b>"`)}}},
		{ID: 2, Entity: "deal", RecordID: 9, Action: Update, Actor: "integration:1c", Integration: "1c", CreatedAt: at,
			Changes: map[string]Change{}},
		{ID: 3, Entity: "contact", RecordID: 1, Action: Delete, Actor: "apikey:2\n", CreatedAt: at, Changes: nil},
	} {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got := ev.AppendJSON(nil)
		var a, b any
		if err := json.Unmarshal(want, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &b); err != nil {
			t.Fatalf("AppendJSON wrote invalid JSON %s: %v", got, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func TestDiff(t *testing.T) {
	type rec struct {
		ID    int64             `json:"id"`
		Title string            `json:"title"`
		Sum   int               `json:"sum"`
		Tags  []string          `json:"tags"`
		Extra map[string]string `json:"extra"`
	}
	old := rec{ID: 1, Title: "a", Sum: 1, Tags: []string{"x"}}
	cur := rec{ID: 1, Title: "b", Sum: 1, Tags: []string{"x", "y"}}
	ch, err := Diff(old, cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || string(ch["title"].Old) != `"a"` || string(ch["title"].New) != `"b"` || string(ch["tags"].New) != `["x","y"]` {
		t.Fatalf("diff: %+v", ch)
	}
	created, err := Diff(nil, cur)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := created["id"]; ok {
		t.Fatal("id is not a change")
	}
	if _, ok := created["extra"]; ok {
		t.Fatal("an empty field is not a change on create")
	}
	enc, err := CreateChanges(cur)
	if err != nil {
		t.Fatal(err)
	}
	var dec map[string]Change
	if err := json.Unmarshal(enc, &dec); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(t, dec), normalize(t, created)) {
		t.Fatalf("CreateChanges %s differs from Diff %+v", enc, created)
	}
}

func normalize(t *testing.T, m map[string]Change) any {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}
