package tmpl

import (
	"reflect"
	"testing"
)

func TestRefs(t *testing.T) {
	t.Parallel()
	r := func(root string, path ...string) Ref { return Ref{Root: root, Path: path} }
	cases := []struct {
		src  string
		want []Ref
	}{
		{"{{ steps.client.id }}", []Ref{r("steps", "client", "id")}},
		{`{{ steps["client"].id }}`, []Ref{r("steps", "client", "id")}},
		{"{{ trigger.record.phones[0].value }}", []Ref{r("trigger", "record", "phones")}},
		{"{{ trigger.record[key].x }}", []Ref{r("trigger", "record"), r("key")}},
		{"{{ trigger?.record?.id }}", []Ref{r("trigger", "record", "id")}},
		{"{{ trigger }}", []Ref{r("trigger")}},
		{"{{ upper(trigger.record.name) + steps.a.b }}", []Ref{r("trigger", "record", "name"), r("steps", "a", "b")}},
		{"{{ steps.a.b }} и {{ steps.a.b }}", []Ref{{Root: "steps", Path: []string{"a", "b"}}, {Root: "steps", Path: []string{"a", "b"}, Offset: len("{{ steps.a.b }} и ")}}},
		{"{{ steps.a.b + steps.a.b }}", []Ref{r("steps", "a", "b")}},
		{"{{ map(trigger.record.phones, #.value + .kind) }}", []Ref{r("trigger", "record", "phones")}},
		{"{{ let x = steps.client; x.id + y }}", []Ref{r("steps", "client"), r("y")}},
		{"{{ first(steps.list).name }}", []Ref{r("steps", "list")}},
		{"{{ {a: steps.x} }}", []Ref{r("steps", "x")}},
		{"{{ 1 + 2 }}", nil},
		{"literal", nil},
	}
	for _, c := range cases {
		tp, err := Compile(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got := tp.Refs()
		for i := range got {
			if c.want != nil && i < len(c.want) && c.want[i].Offset == 0 {
				got[i].Offset = 0 // offsets are checked where the case sets them
			}
		}
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.src, got, c.want)
		}
	}
}

func TestRefOffsetAndString(t *testing.T) {
	t.Parallel()
	tp := MustCompile("Клиент: {{ steps.client.id }}")
	refs := tp.Refs()
	if len(refs) != 1 || refs[0].Offset != len("Клиент: ") || refs[0].String() != "steps.client.id" {
		t.Errorf("refs = %+v", refs)
	}
}
