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
// The database keeps an editable table of them (currency_aliases) seeded
// with the same.
var CurrencyAliases = map[string]string{"РУБ": "RUB", "RUR": "RUB", "РУБ.": "RUB", "643": "RUB", "₽": "RUB", "РУБЛЬ": "RUB",
	"РУБЛИ": "RUB", "Р.": "RUB", "ГРН": "UAH", "ГРН.": "UAH", "₴": "UAH", "980": "UAH", "ГРИВНА": "UAH", "ДОЛЛ": "USD",
	"ДОЛЛ.": "USD", "$": "USD", "840": "USD", "У.Е.": "USD", "УЕ": "USD", "ЕВРО": "EUR", "€": "EUR", "978": "EUR",
	"ТЕНГЕ": "KZT", "ТГ": "KZT", "₸": "KZT", "398": "KZT", "BYR": "BYN", "БЕЛ. РУБ.": "BYN", "933": "BYN"}

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
	// Color is the stage's colour as #RRGGBB, "" for the default one.
	Color string `json:"color"`
}

// Custom field types.
// "booking" holds the id of a resource booking (crm.Booking): the card
// picks the resources, time, service and users, and shows it as a
// summary.
var CustomFieldTypes = []string{"string", "text", "number", "date", "bool", "enum", "booking"}

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
	// UserType is the Bitrix24 user type the field was made with through
	// the Bitrix24-compatible API (integer, money, url, file …), kept to
	// be answered back; "" for fields made in Obmen.
	UserType string `json:"user_type,omitempty"`
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

// Semantics of a status or stage: it ends the process with success (S) or
// failure (F); "" is a step in progress.
const (
	SemanticsSuccess = "S"
	SemanticsFailure = "F"
)

// ParseRate parses a currency rate written as decimal text with at most
// four fractional digits into ten-thousandths: "92.5" is 925000.
func ParseRate(s string) (int64, error) { return parseFixed(s, 4) }

// FormatRate writes a rate held in ten-thousandths as decimal text without
// trailing zeros: 925000 is "92.5".
func FormatRate(v int64) string { return formatFixed(v, 4, 0) }

// Normalize validates a currency and writes its code and rate in their
// canonical form. The base currency has the rate 1 and is active.
func (c *Currency) Normalize() error {
	c.Code = CanonicalCurrency(c.Code)
	trimAll(&c.Name, &c.Rate)
	if err := checkCurrency("code", c.Code); err != nil {
		return err
	}
	if c.Rate == "" && c.Base {
		c.Rate = "1"
	}
	if c.Rate == "" {
		return Invalid("rate", "required")
	}
	v, err := ParseRate(c.Rate)
	if err != nil {
		return Invalid("rate", "%q is not a decimal number with at most 4 fractional digits", c.Rate)
	}
	if v <= 0 {
		return Invalid("rate", "must be greater than zero")
	}
	if c.Base && v != 10000 {
		return Invalid("rate", "the base currency's rate is 1, not %s", FormatRate(v))
	}
	if c.Base && !c.Active {
		return Invalid("active", "the base currency must be active")
	}
	c.Rate = FormatRate(v)
	return checkLen("name", c.Name, 100)
}

var okeiCode = regexp.MustCompile(`^[0-9]{3,4}$`)

// Normalize validates a unit; its name is kept as sent (trimmed), its
// title defaults to the name.
func (u *Unit) Normalize() error {
	trimAll(&u.Name, &u.Title, &u.OKEI)
	if u.Name == "" {
		return Invalid("name", "required")
	}
	if u.Title == "" {
		u.Title = u.Name
	}
	if u.OKEI != "" && !okeiCode.MatchString(u.OKEI) {
		return Invalid("okei", "%q is not an OKEI code (3 or 4 digits)", u.OKEI)
	}
	return firstErr(checkLen("name", u.Name, 50), checkLen("title", u.Title, 255))
}

// Normalize validates a pipeline.
func (p *Pipeline) Normalize() error {
	trimAll(&p.Name)
	if p.Name == "" {
		return Invalid("name", "required")
	}
	return checkLen("name", p.Name, 255)
}

var statusEntity = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,49}$`)

var statusColor = regexp.MustCompile(`^#[0-9A-F]{6}$`)

// Normalize validates a status entry.
func (s *Status) Normalize() error {
	trimAll(&s.EntityID, &s.StatusID, &s.Name, &s.Semantics, &s.Color)
	s.EntityID = strings.ToUpper(s.EntityID)
	s.Color = strings.ToUpper(s.Color)
	if s.Color != "" && !statusColor.MatchString(s.Color) {
		return Invalid("color", "%q is not a colour written #RRGGBB", s.Color)
	}
	s.Semantics = strings.ToUpper(s.Semantics)
	if !statusEntity.MatchString(s.EntityID) {
		return Invalid("entity_id", "%q is not a dictionary name such as STATUS, SOURCE or DEAL_STAGE_1", s.EntityID)
	}
	if s.StatusID == "" {
		return Invalid("status_id", "required")
	}
	if s.Name == "" {
		return Invalid("name", "required")
	}
	if s.Semantics != "" && s.Semantics != SemanticsSuccess && s.Semantics != SemanticsFailure {
		return Invalid("semantics", "%q is not one of \"\" (in progress), S (success), F (failure)", s.Semantics)
	}
	return firstErr(checkLen("status_id", s.StatusID, 50), checkLen("name", s.Name, 255))
}
