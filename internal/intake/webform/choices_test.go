package webform

import "testing"

// TestChoicesCoverCatalogue: the picker offers every field a module takes,
// each once, so that none can be chosen only by typing its name.
func TestChoicesCoverCatalogue(t *testing.T) {
	for _, m := range Modules {
		cs := Choices(m)
		seen := map[string]bool{}
		for _, c := range cs {
			if seen[c.Name] || c.Label == "" {
				t.Errorf("%s: %q offered twice or without a label", m, c.Name)
			}
			seen[c.Name] = true
		}
		for n := range catalogue[m] {
			if !seen[n] {
				t.Errorf("%s: field %q is not offered", m, n)
			}
		}
	}
	if Choices("nope") != nil {
		t.Error("an unknown module has choices")
	}
}
