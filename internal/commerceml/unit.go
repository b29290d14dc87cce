package commerceml

import (
	"encoding/json"
	"encoding/xml"
	"strings"
)

// Unit is a unit of measure as 1C writes it: before schema 2.05 the text
// of <БазоваяЕдиница> ("шт"); from 2.05 on the attributes
// <БазоваяЕдиница Код="796" НаименованиеПолное="Штука"
// МеждународноеСокращение="PCE"/>, often with no text at all.
type Unit struct {
	Code     string `json:"code,omitempty"`      // ОКЕИ code (Код)
	FullName string `json:"full_name,omitempty"` // НаименованиеПолное
	Short    string `json:"short,omitempty"`     // the text, or НаименованиеКраткое
	Intl     string `json:"intl,omitempty"`      // МеждународноеСокращение
}

// UnmarshalXML reads the attributes and the element's own text; child
// elements (<Пересчет> of some exports) are skipped.
func (u *Unit) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		v := strings.TrimSpace(a.Value)
		switch a.Name.Local {
		case "Код":
			u.Code = v
		case "НаименованиеПолное":
			u.FullName = v
		case "НаименованиеКраткое":
			u.Short = v
		case "МеждународноеСокращение":
			u.Intl = v
		}
	}
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				if s := strings.TrimSpace(text.String()); s != "" {
					u.Short = s
				}
				return nil
			}
			depth--
		case xml.CharData:
			if depth == 0 {
				text.Write(t)
			}
		}
	}
}

// UnmarshalJSON also takes the plain string of documents staged before
// units had attributes.
func (u *Unit) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*u = Unit{Short: strings.TrimSpace(s)}
		return nil
	}
	type plain Unit
	return json.Unmarshal(b, (*plain)(u))
}

// okei are the units 1C writes most, by ОКЕИ code: the short name Obmen
// keeps them under, the full name and the international abbreviation.
var okei = []struct{ code, short, full, intl string }{
	{"796", "шт", "Штука", "PCE"},
	{"166", "кг", "Килограмм", "KGM"},
	{"163", "г", "Грамм", "GRM"},
	{"168", "т", "Тонна", "TNE"},
	{"006", "м", "Метр", "MTR"},
	{"004", "см", "Сантиметр", "CMT"},
	{"003", "мм", "Миллиметр", "MMT"},
	{"018", "пог. м", "Погонный метр", "LM"},
	{"055", "м2", "Квадратный метр", "MTK"},
	{"113", "м3", "Кубический метр", "MTQ"},
	{"112", "л", "Литр", "LTR"},
	{"356", "ч", "Час", "HUR"},
	{"359", "сут", "Сутки", "DAY"},
	{"778", "упак", "Упаковка", "NMP"},
	{"704", "набор", "Набор", "SET"},
	{"715", "пар", "Пара", "NPR"},
	{"839", "компл", "Комплект", "SET"},
	{"625", "лист", "Лист", "LEF"},
	{"736", "рул", "Рулон", "NPL"},
	{"812", "ящ", "Ящик", "BX"},
	{"642", "ед", "Единица", "EA"},
}

// Resolved fills what the document left out from the ОКЕИ code or from
// a name the table knows, so that "шт", "Штука", "PCE" and 796 are one
// unit; a unit the table does not know stays as written.
func (u Unit) Resolved() Unit {
	u.Code, u.FullName, u.Short, u.Intl = strings.TrimSpace(u.Code), strings.TrimSpace(u.FullName), strings.TrimSpace(u.Short), strings.TrimSpace(u.Intl)
	// The text is what a person reads; the code decides only without it.
	match := func(k int) bool {
		e := okei[k]
		switch {
		case u.Short != "":
			return sameName(u.Short, e.short) || strings.EqualFold(u.Short, e.full)
		case u.Code != "":
			return strings.TrimLeft(u.Code, "0") == strings.TrimLeft(e.code, "0")
		case u.FullName != "":
			return strings.EqualFold(u.FullName, e.full)
		}
		return u.Intl != "" && strings.EqualFold(u.Intl, e.intl)
	}
	for k, e := range okei {
		if !match(k) {
			continue
		}
		out := Unit{Code: e.code, FullName: e.full, Short: e.short, Intl: e.intl}
		if u.Code != "" {
			out.Code = u.Code
		}
		if u.FullName != "" {
			out.FullName = u.FullName
		}
		if u.Intl != "" {
			out.Intl = u.Intl
		}
		return out
	}
	return u
}

func sameName(a, b string) bool {
	return a != "" && strings.EqualFold(strings.TrimSuffix(a, "."), b)
}

// Key is the name Obmen keeps a unit under: the short name ("шт"), else
// the full name, the international abbreviation or the code; "" when the
// document names no unit.
func (u Unit) Key() string {
	r := u.Resolved()
	for _, s := range []string{r.Short, r.FullName, r.Intl, r.Code} {
		if s != "" {
			return s
		}
	}
	return ""
}

// IsZero reports whether the document named no unit.
func (u Unit) IsZero() bool { return u.Key() == "" }
