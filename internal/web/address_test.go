package web

import (
	"testing"
)

// TestAddrPatch: the ids stay with the text they were picked for, go
// with text typed over them (no script), and new ids (a pick) stay.
func TestAddrPatch(t *testing.T) {
	stored := addrView{Postcode: "420015", Region: "Респ Татарстан", City: "г Казань", Street: "ул Карла Маркса", House: "д 10", FIASID: "h-10", KLADR: "k"}
	for _, c := range []struct {
		name  string
		got   addrView
		fias  string
		kladr string
	}{
		{"unchanged", stored, "h-10", "k"},
		{"flat typed", func() addrView { a := stored; a.Flat = "оф 3"; return a }(), "h-10", "k"},
		{"postcode typed", func() addrView { a := stored; a.Postcode = "420016"; return a }(), "h-10", "k"},
		{"house typed over", func() addrView { a := stored; a.House = "д 12"; return a }(), "", ""},
		{"city typed over", func() addrView { a := stored; a.City = "г Казан"; return a }(), "", ""},
		{"another pick", func() addrView { a := stored; a.House = "д 12"; a.FIASID, a.KLADR = "h-12", ""; return a }(), "h-12", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := addrPatch(c.got, stored)
			if p["fias_id"] != c.fias || p["kladr_id"] != c.kladr {
				t.Fatalf("ids: %v %v, want %q %q", p["fias_id"], p["kladr_id"], c.fias, c.kladr)
			}
			for _, k := range addrTextParts {
				if p[k] != c.got.part(k) {
					t.Errorf("%s: %v, want %q", k, p[k], c.got.part(k))
				}
			}
			if len(p) != len(addrTextParts)+len(addrIDParts) {
				t.Errorf("patch keys: %v", p)
			}
		})
	}
}
