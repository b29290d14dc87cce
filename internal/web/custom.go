package web

import (
	"net/url"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// customKinds maps custom field types to input kinds.
var customKinds = map[string]string{"string": kText, "text": kLong, "number": kText, "date": kDate, "bool": kBool, "enum": kChoice, "booking": kText}

// customViews are the inputs of an entity's custom fields ("custom.CODE").
// A booking field is not typed in: it shows its booking's summary,
// linked to the record's booking page (base is the record's card, "" for
// a record not saved yet).
func customViews(defs []crm.CustomField, rec record, input url.Values, errs formErrs, lk *lookups, base string) []fieldView {
	values, _ := rec["custom"].(map[string]any)
	var out []fieldView
	for _, d := range defs {
		name := "custom." + d.Code
		fv := fieldView{Name: name, Label: d.Label, Kind: customKinds[d.Type], Value: strOf(values[d.Code])}
		fv.Display = customDisplay(d, values[d.Code])
		if d.Type == "booking" {
			fv.RO = true
			link := translate(lk.lang, "booking.book")
			if values[d.Code] != nil {
				fv.Display = lk.bookingSummary(values[d.Code])
				link = fv.Display
			}
			if base != "" {
				fv.Links = []option{{base + "/booking/" + url.PathEscape(d.Code), link}}
			} else if values[d.Code] == nil {
				fv.Display = translate(lk.lang, "booking.save_first")
			}
			out = append(out, fv)
			continue
		}
		if input != nil {
			if d.Type == "bool" || input.Has(name) {
				fv.Value = input.Get(name)
			}
		}
		fv.Checked = fv.Value == "true" || fv.Value == "on"
		if d.Type == "enum" {
			fv.Options = []option{{"", "—"}}
			for _, o := range d.Options {
				fv.Options = append(fv.Options, option{o, o})
			}
		}
		fv.Error = errs[name]
		out = append(out, fv)
	}
	return out
}

// parseCustom reads the custom fields of a form into the patch's "custom"
// object; an emptied field is removed (null in a merge patch).
func parseCustom(defs []crm.CustomField, form url.Values, patch record) {
	vals := map[string]any{}
	for _, d := range defs {
		name := "custom." + d.Code
		if d.Type == "booking" {
			continue // set on its booking page
		}
		if d.Type == "bool" {
			if form.Has(name + ".shown") {
				vals[d.Code] = form.Get(name) == "on"
			}
			continue
		}
		if !form.Has(name) {
			continue
		}
		if v := strings.TrimSpace(form.Get(name)); v != "" {
			vals[d.Code] = v
		} else {
			vals[d.Code] = nil
		}
	}
	if len(vals) > 0 {
		patch["custom"] = vals
	}
}

// customDisplay is a custom value as text for cards, lists and CSV.
func customDisplay(d crm.CustomField, v any) string {
	if d.Type == "bool" {
		if v == true {
			return "✓"
		}
		return ""
	}
	return strOf(v)
}

// listFields are an entity's fields as lists offer them: its own, then its
// custom fields, each a column that can be shown, sorted and filtered
// (text with "like", the others by equality).
func listFields(e *entity, defs []crm.CustomField) []field {
	out := append([]field(nil), e.Fields...)
	for i := range defs {
		d := &defs[i]
		kind := customKinds[d.Type]
		if kind == kLong {
			kind = kText // a column shows it on one line
		}
		f := field{Name: "custom." + d.Code, Kind: kind, Sort: true, Filter: true, Label: d.Label, Custom: d, Choices: d.Options}
		out = append(out, f)
	}
	return out
}

// customOp is how a list filters by a custom field: text by substring,
// the other types by equality.
func customOp(d *crm.CustomField) string {
	if d.Type == "string" || d.Type == "text" {
		return "like"
	}
	return "eq"
}
