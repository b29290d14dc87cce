package crm

import (
	"regexp"
	"strings"
)

// Currency is a dictionary entry: ISO code, whether documents may use it,
// and its rate to the base currency (hundredths, scaled ×100 again: a rate
// of 92.5 is 925000).
type Currency struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
	Base   bool   `json:"base"`
	Rate   string `json:"rate"`
	Sort   int    `json:"sort"`
}

// CurrencyAliases are the codes 1C and old systems write for ISO ones.
var CurrencyAliases = map[string]string{"РУБ": "RUB", "RUR": "RUB", "РУБ.": "RUB", "643": "RUB"}

// CanonicalCurrency maps an alias to its ISO code.
func CanonicalCurrency(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	if iso, ok := CurrencyAliases[c]; ok {
		return iso
	}
	return c
}

// Unit is a unit of measure, named in any language as sent ("шт", "кг").
type Unit struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Title string `json:"title"`
	OKEI  string `json:"okei"`
}

// Pipeline is a deal category (Bitrix24's CATEGORY_ID); 0 is the default.
type Pipeline struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Sort      int    `json:"sort"`
	IsDefault bool   `json:"is_default"`
}

// Status is an entry of a status-like dictionary: lead statuses (STATUS),
// deal stages (DEAL_STAGE, DEAL_STAGE_n), sources (SOURCE) and so on.
type Status struct {
	ID         int64  `json:"id"`
	EntityID   string `json:"entity_id"`
	StatusID   string `json:"status_id"`
	Name       string `json:"name"`
	Sort       int    `json:"sort"`
	Semantics  string `json:"semantics"`
	PipelineID *int64 `json:"pipeline_id"`
	System     bool   `json:"system"`
}

// Custom field types.
var CustomFieldTypes = []string{"string", "text", "number", "date", "bool", "enum"}

// CustomField declares a UF_CRM_* field of an entity.
type CustomField struct {
	ID       int64    `json:"id"`
	Entity   string   `json:"entity"`
	Code     string   `json:"code"`
	Label    string   `json:"label"`
	Type     string   `json:"type"`
	Options  []string `json:"options"`
	Required bool     `json:"required"`
	Sort     int      `json:"sort"`
}

var customCode = regexp.MustCompile(`^UF_CRM_[A-Z0-9_]{1,50}$`)

// Normalize validates a declaration.
func (f *CustomField) Normalize() error {
	trimAll(&f.Entity, &f.Code, &f.Label, &f.Type)
	f.Code = strings.ToUpper(f.Code)
	if f.Code != "" && !strings.HasPrefix(f.Code, "UF_CRM_") {
		f.Code = "UF_CRM_" + f.Code
	}
	if !customCode.MatchString(f.Code) {
		return Invalid("code", "%q must look like UF_CRM_NAME (Latin capitals, digits, _)", f.Code)
	}
	ok := false
	for _, t := range CustomFieldTypes {
		ok = ok || t == f.Type
	}
	if !ok {
		return Invalid("type", "%q is not one of %s", f.Type, strings.Join(CustomFieldTypes, ", "))
	}
	if f.Options == nil {
		f.Options = []string{}
	}
	if f.Type == "enum" && len(f.Options) == 0 {
		return Invalid("options", "an enum field needs at least one option")
	}
	return nil
}
