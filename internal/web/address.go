package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/crm"
)

// kAddress is an address block (crm.Address): postcode, region, city,
// street, house and flat inputs named "<field>.<part>", the ФИАС id and
// КЛАДР code beside them (hidden inputs, shown read-only), and
// "<field>.shown" telling that the form offered the block.
const kAddress = "address"

// addrTextParts are the parts of an address a user types; addrIDParts the
// identifiers a suggestion fills in.
var (
	addrTextParts = []string{"postcode", "region", "city", "street", "house", "flat"}
	addrIDParts   = []string{"fias_id", "kladr_id"}
)

// addrView is an address block's values as its inputs hold them, with
// the block's texts (L) in the user's language.
type addrView struct {
	Postcode, Country, Region, City, Street, House, Flat string
	FIASID, KLADR                                        string
	L                                                    map[string]string
	// Lineage is the ids of the parts the stored id lies in (JSON of
	// address.Lineage), so that the script offers the streets of the
	// stored city and the houses of the stored street; "" when unknown.
	Lineage string
}

// addrPart is one input of a block.
type addrPart struct{ Part, Label, Value string }

// Parts are the block's inputs in the order a Russian address is written.
func (a addrView) Parts() []addrPart {
	out := make([]addrPart, len(addrTextParts))
	for i, p := range addrTextParts {
		out[i] = addrPart{Part: p, Label: a.L[p], Value: a.part(p)}
	}
	return out
}

// addrLabels are a block's texts in the user's language.
func addrLabels(t func(string) string) map[string]string {
	m := map[string]string{}
	for _, k := range append(addrTextParts, "fias", "kladr", "ids_none", "suggestions") {
		m[k] = t("addr." + k)
	}
	return m
}

// part is the value of one part by its JSON name.
func (a addrView) part(name string) string {
	switch name {
	case "postcode":
		return a.Postcode
	case "country":
		return a.Country
	case "region":
		return a.Region
	case "city":
		return a.City
	case "street":
		return a.Street
	case "house":
		return a.House
	case "flat":
		return a.Flat
	case "fias_id":
		return a.FIASID
	case "kladr_id":
		return a.KLADR
	}
	return ""
}

// addrOf reads an address as a record holds it (a JSON object).
func addrOf(v any) addrView {
	m, _ := v.(map[string]any)
	return addrView{Postcode: strOf(m["postcode"]), Country: strOf(m["country"]), Region: strOf(m["region"]), City: strOf(m["city"]),
		Street: strOf(m["street"]), House: strOf(m["house"]), Flat: strOf(m["flat"]), FIASID: strOf(m["fias_id"]), KLADR: strOf(m["kladr_id"])}
}

// addrFromForm reads the block of field name as submitted.
func addrFromForm(name string, form func(string) string) addrView {
	g := func(p string) string { return strings.TrimSpace(form(name + "." + p)) }
	return addrView{Postcode: g("postcode"), Region: g("region"), City: g("city"), Street: g("street"), House: g("house"), Flat: g("flat"),
		FIASID: g("fias_id"), KLADR: g("kladr_id")}
}

// addrLineage is the JSON of the lineage of the imported object guid
// names, "" when there is none.
func addrLineage(lk *lookups, guid string) string {
	if guid == "" || lk == nil || lk.s == nil {
		return ""
	}
	l, err := address.LineageOf(lk.ctx, lk.s.DB(), guid)
	if err != nil {
		return ""
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// addrText is an address on one line, as lists, cards and exports show it.
func addrText(v any) string {
	a := addrOf(v)
	return crm.Address{Postcode: a.Postcode, Country: a.Country, Region: a.Region, City: a.City, Street: a.Street, House: a.House, Flat: a.Flat}.String()
}

// addrPatch is the merge patch of an address block: every part the form
// has, the country kept as stored. The identifiers stay only when they
// came with the text they were chosen for: when the submitted ids are the
// stored ones but the region, city, street or house differ from the
// stored text (typed over without the page's script, which clears them
// itself), they are dropped, so that no id names another address.
func addrPatch(got, cur addrView) map[string]any {
	if got.FIASID == cur.FIASID && got.KLADR == cur.KLADR && got.FIASID+got.KLADR != "" &&
		(got.Region != cur.Region || got.City != cur.City || got.Street != cur.Street || got.House != cur.House) {
		got.FIASID, got.KLADR = "", ""
	}
	p := map[string]any{}
	for _, k := range append(addrTextParts, addrIDParts...) {
		p[k] = got.part(k)
	}
	return p
}

// addressSuggest answers an address block's autocomplete: the
// suggestions of the installation's source (the imported ФИАС/ГАР base,
// or DaData when an admin set it up) as JSON; none when nothing is
// imported, so that the block stays a set of plain inputs.
func (u *UI) addressSuggest(w http.ResponseWriter, r *http.Request, rq *request) {
	v := r.URL.Query()
	q := address.Query{Text: v.Get("q"), Level: address.Level(v.Get("level")), Parent: v.Get("parent"), Limit: 10}
	out := []address.Suggestion{}
	switch {
	case len(q.Text) > 200:
	case q.Level != address.LevelCity && q.Level != address.LevelStreet && q.Level != address.LevelHouse:
		http.Error(w, "level must be city, street or house", http.StatusBadRequest)
		return
	case q.Level != address.LevelCity && q.Parent == "":
	default:
		got, err := u.addrSuggester().Suggest(r.Context(), q)
		switch {
		case errors.Is(err, address.ErrUnknownParent):
		case err != nil:
			u.log.Warn("web: address suggest", "level", q.Level, "err", err)
		default:
			out = got
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// SetAddressSource sets where address blocks' suggestions come from
// (the imported ФИАС/ГАР base, or DaData once an admin enters a key on
// the settings page); the REST API shares it. nil: the imported base
// alone, and the settings page offers no DaData key.
func (u *UI) SetAddressSource(s *address.Source) { u.addr = s }

// addrSuggester is where suggestions come from.
func (u *UI) addrSuggester() address.Suggester {
	if u.addr != nil {
		return u.addr
	}
	return address.Local{DB: u.store.DB()}
}
