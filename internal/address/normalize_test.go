package address

import (
	"slices"
	"strings"
	"testing"
)

func TestNameKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Карла Маркса", []string{"карла маркса", "маркса"}},
		{"Чёрное Озеро", []string{"черное озеро", "озеро"}},
		{"1-я Тверская-Ямская", []string{"1 я тверская ямская", "я тверская ямская", "тверская ямская", "ямская"}},
		{"  «Ромашка»  ", []string{"ромашка"}},
		{"", []string{}},
	} {
		if got := NameKeys(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("NameKeys(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHouseKey(t *testing.T) {
	for in, want := range map[string]string{
		"19":              "19",
		"19 к 1":          "19к1",
		"д. 19, корп. 1":  "19к1",
		"дом 19 корпус 1": "19к1",
		"19к1":            "19к1",
		"12/3 стр 2":      "12/3с2",
		"3 строение 2":    "3с2",
		"5А":              "5а",
		"д 5 лит. Б":      "5литб",
	} {
		if got := HouseKey(in); got != want {
			t.Errorf("HouseKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTypeKey(t *testing.T) {
	for in, want := range map[string]string{
		"ул": "ул", "ул.": "ул", "Улица": "ул", "пр-кт": "пр-кт", "Проспект": "пр-кт", "г.": "г", "город": "г",
		"д": "д", "деревня": "д", "пер": "пер", "переулок": "пер", "наб": "наб", "набережная": "наб", "ш": "ш", "шоссе": "ш",
		"обл": "обл", "Область": "обл", "р-н": "р-н", "район": "р-н", "Респ": "респ", "поселок": "п", "посёлок": "п",
		"снт": "снт", "вал": "вал",
	} {
		if got := TypeKey(in); got != want {
			t.Errorf("TypeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		in    string
		house bool
		want  query
	}{
		{"ленина", false, query{key: "ленина"}},
		{"ул. Ленина", false, query{key: "ленина", typeKey: "ул"}},
		{"улица ленина", false, query{key: "ленина", typeKey: "ул"}},
		{"Ленина ул", false, query{key: "ленина", typeKey: "ул"}},
		{"пр-кт Мира", false, query{key: "мира", typeKey: "пр-кт"}},
		{"проспект мира", false, query{key: "мира", typeKey: "пр-кт"}},
		{"г. Орёл", false, query{key: "орел", typeKey: "г"}},
		{"Московская обл.", false, query{key: "московская", typeKey: "обл"}},
		{"Шоссе", false, query{key: "шоссе"}}, // a lone type word is a name
		{"наб. Шоссейная", false, query{key: "шоссейная", typeKey: "наб"}},
		{"карла, маркса", false, query{key: "карла маркса"}},
		{"д 5 к1", true, query{key: "5к1"}},
	} {
		if got := parseQuery(tc.in, tc.house); got != tc.want {
			t.Errorf("parseQuery(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func FuzzHouseKey(f *testing.F) {
	for _, s := range []string{"19 к 1", "д. 5А", "12/3 стр 2", "корп", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := HouseKey(s)
		if HouseKey(k) != k {
			t.Fatalf("HouseKey is not idempotent on %q: %q then %q", s, k, HouseKey(k))
		}
	})
}

// FuzzWalk feeds the streaming reader arbitrary documents: it returns an
// error or the records, never panics, and numbers records from 1 up.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{
		`<ADDRESSOBJECTS><OBJECT ID="1" NAME="Ленина"/><OBJECT ID="2"/></ADDRESSOBJECTS>`,
		`<?xml version="1.0" encoding="windows-1251"?><ITEMS><ITEM ID="1"/></ITEMS>`,
		`<HOUSES><HOUSE HOUSENUM="5&quot;"/>`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var last int64
		_ = walk(strings.NewReader(doc), "OBJECT", func(n int64, a attrs) error {
			if n != last+1 {
				t.Fatalf("record %d after %d", n, last)
			}
			last = n
			return nil
		})
	})
}
