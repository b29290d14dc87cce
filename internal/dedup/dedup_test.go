package dedup

import (
	"strings"
	"testing"
)

func TestRuleValidate(t *testing.T) {
	for _, c := range []struct {
		rule  Rule
		field string // "" when valid
		keys  string
	}{
		{Rule{Entity: "lead", Keys: []string{"phone", " email", "phone"}, Action: Warn}, "", "phone,email"},
		{Rule{Entity: "account", Keys: []string{"inn"}, Action: Refuse}, "", "inn"},
		{Rule{Entity: "lead", Keys: []string{"inn"}, Action: Warn}, "keys[0]", ""},
		{Rule{Entity: "deal", Keys: []string{"name"}, Action: Warn}, "entity", ""},
		{Rule{Entity: "contact", Keys: []string{"phone"}, Action: "ignore"}, "action", ""},
		{Rule{Entity: "contact", Action: Merge}, "keys", ""},
		{Rule{Entity: "contact", Action: Allow}, "", ""},
	} {
		err := c.rule.Validate()
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v", c.rule, err)
		case c.field != "" && (err == nil || !strings.HasPrefix(err.Error(), c.field+":")):
			t.Errorf("%+v: %v, want an error of %s", c.rule, err, c.field)
		case c.field == "" && strings.Join(c.rule.Keys, ",") != c.keys:
			t.Errorf("%+v: keys, want %s", c.rule, c.keys)
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"Иван Петров", "петров  иван", true},
		{"Иван Петров", "Иван Петров Сергеевич", false},
		{"", "", false},
	} {
		if got := SameWords(c.a, c.b); got != c.same {
			t.Errorf("SameWords(%q, %q) = %v", c.a, c.b, got)
		}
	}
	if !SameText(" ООО Ромашка ", "ооо ромашка") || LongestWord("ИП Кузнецова Анна") != "Кузнецова" {
		t.Error("SameText or LongestWord")
	}
}
