package bitrix

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func encode(t testing.TB, a *Array) string {
	t.Helper()
	b, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The expected values are what PHP's parse_str gives, written as
// json_encode would write them.
func TestParseQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", `[]`},
		{"plain", "id=5&start=50", `{"id":"5","start":"50"}`},
		{"last wins", "a=1&a=2", `{"a":"2"}`},
		{"no value", "a&b=", `{"a":"","b":""}`},
		{"plus and percent", "q=a+b%20c%26d", `{"q":"a b c&d"}`},
		{"bad percent kept", "q=100%&r=%zz%4", `{"q":"100%","r":"%zz%4"}`},
		{"encoded brackets", "fields%5BTITLE%5D=x", `{"fields":{"TITLE":"x"}}`},
		{"nested", "fields[TITLE]=Lead&fields[PHONE][0][VALUE]=%2B7 925&fields[PHONE][0][VALUE_TYPE]=WORK",
			`{"fields":{"TITLE":"Lead","PHONE":[{"VALUE":"+7 925","VALUE_TYPE":"WORK"}]}}`},
		{"append", "select[]=ID&select[]=TITLE", `{"select":["ID","TITLE"]}`},
		{"append after index", "a[5]=x&a[]=y", `{"a":{"5":"x","6":"y"}}`},
		{"append nested", "a[][x]=1&a[][x]=2", `{"a":[{"x":"1"},{"x":"2"}]}`},
		{"filter prefixes", "filter[>OPPORTUNITY]=100&filter[!%TITLE]=x&filter[@STATUS_ID][]=NEW",
			`{"filter":{">OPPORTUNITY":"100","!%TITLE":"x","@STATUS_ID":["NEW"]}}`},
		{"order", "order[ID]=DESC", `{"order":{"ID":"DESC"}}`},
		{"string keys keep order", "a[n1]=1&a[n0]=0", `{"a":{"n1":"1","n0":"0"}}`},
		{"leading zero key is text", "a[01]=x&a[1]=y", `{"a":{"01":"x","1":"y"}}`},
		{"dot and space in name", "a.b=1&c d=2", `{"a_b":"1","c_d":"2"}`},
		{"dot inside brackets kept", "cmd[get.user]=x", `{"cmd":{"get.user":"x"}}`},
		{"leading spaces dropped", "%20%20a=1", `{"a":"1"}`},
		{"unclosed first bracket", "a[b=1", `{"a_b":"1"}`},
		{"unclosed later bracket", "a[b][c=1", `{"a":{"b":"1"}}`},
		{"tail after bracket ignored", "a[b]c=1", `{"a":{"b":"1"}}`},
		{"empty name skipped", "=1&[a]=2", `[]`},
		{"scalar replaced by array", "a=1&a[b]=2", `{"a":{"b":"2"}}`},
		{"array replaced by scalar", "a[b]=2&a=1", `{"a":"1"}`},
		{"empty pairs", "&&a=1&", `{"a":"1"}`},
		{"batch cmd", "cmd[add]=crm.lead.add%3Ffields%5BTITLE%5D%3DJohn%2526Martin",
			`{"cmd":{"add":"crm.lead.add?fields[TITLE]=John%26Martin"}}`},
		{"too deep", "a" + strings.Repeat("[x]", 65) + "=1&b=2", `{"b":"2"}`},
		{"dropped then set again goes last", "a=1&b=2&a" + strings.Repeat("[x]", 65) + "=1&a=3", `{"b":"2","a":"3"}`},
		{"deep enough", "a" + strings.Repeat("[0]", 3) + "=1", `{"a":[[["1"]]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := encode(t, ParseQuery(tc.in)); got != tc.want {
				t.Fatalf("ParseQuery(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeJSONKeepsOrder(t *testing.T) {
	t.Parallel()
	a, err := DecodeJSON([]byte(`{"fields":{"TITLE":"x","PHONE":{"n1":{"VALUE":"1"},"n0":{"VALUE":"0"}},"OPPORTUNITY":12.50,"OPENED":true,"X":null},"select":["ID"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fields":{"TITLE":"x","PHONE":{"n1":{"VALUE":"1"},"n0":{"VALUE":"0"}},"OPPORTUNITY":12.50,"OPENED":true,"X":null},"select":["ID"]}`
	if got := encode(t, a); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{`[]`, `"x"`, `{"a":1} {}`, `{"a":`, ``} {
		if _, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("DecodeJSON(%q) accepted", bad)
		}
	}
}

func TestArrayJSON(t *testing.T) {
	t.Parallel()
	a := NewArray()
	if got := encode(t, a); got != `[]` {
		t.Fatalf("empty: %s", got)
	}
	a.Append("x")
	a.Append("y")
	if got := encode(t, a); got != `["x","y"]` {
		t.Fatalf("list: %s", got)
	}
	a.Delete("0")
	if got := encode(t, a); got != `{"1":"y"}` {
		t.Fatalf("holey list is an object in PHP: %s", got)
	}
	b := NewArray().Set("b", 1).Set("a", "<&>")
	if got := encode(t, b); got != `{"b":1,"a":"<&>"}` {
		t.Fatalf("object: %s", got)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "a=1", "fields[PHONE][0][VALUE]=1&fields[PHONE][0][VALUE_TYPE]=WORK", "a[]=1&a[]=2",
		"a[b=1", "a[b][c=1", "%5B%5D=1", "a[5]=x&a[]=y", "a=1&a[b]=2&a[b][c]=3", "a[-1]=1&a[]=2", "a%00b=1", "x[%ZZ]=%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := ParseQuery(s)
		b, err := a.MarshalJSON()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if utf8.ValidString(s) && !json.Valid(b) {
			t.Fatalf("invalid JSON %s for %q", b, s)
		}
		if a.Len() > strings.Count(s, "&")+1 {
			t.Fatalf("%d top-level keys from %d pairs", a.Len(), strings.Count(s, "&")+1)
		}
		// Parsing is a function of the text: the same input, the same result.
		if c, _ := ParseQuery(s).MarshalJSON(); string(c) != string(b) {
			t.Fatalf("not deterministic for %q", s)
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":"d"}`, `{"a":1.5e3}`, `[1]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := DecodeJSON([]byte(s))
		if err != nil {
			return
		}
		b, err := a.MarshalJSON()
		if err != nil || !json.Valid(b) {
			t.Fatalf("re-encoding %q: %s %v", s, b, err)
		}
	})
}
