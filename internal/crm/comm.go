package crm

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Comm kinds, as Bitrix24 names its multi-fields.
const (
	KindPhone = "PHONE"
	KindEmail = "EMAIL"
	KindIM    = "IM"
	KindWeb   = "WEB"
)

var valueTypes = map[string][]string{
	KindPhone: {"WORK", "MOBILE", "HOME", "FAX", "PAGER", "MAILING", "OTHER"},
	KindEmail: {"WORK", "HOME", "MAILING", "OTHER"},
	KindIM: {"TELEGRAM", "VK", "WHATSAPP", "VIBER", "SKYPE", "FACEBOOK", "INSTAGRAM", "MAX",
		"AVITO", "OPENLINE", "IMOL", "BITRIX24", "ICQ", "MSN", "JABBER", "OTHER"},
	KindWeb: {"WORK", "HOME", "VK", "FACEBOOK", "TWITTER", "LIVEJOURNAL", "INSTAGRAM", "TELEGRAM", "OTHER"},
}

var defaultValueType = map[string]string{KindPhone: "WORK", KindEmail: "WORK", KindIM: "OTHER", KindWeb: "WORK"}

// Comm is one phone, e-mail, messenger or web address of a lead, contact or
// account: Bitrix24's multi-field item. Value is kept as typed; Normalized
// is what lookups match (E.164 phone, lower-cased e-mail).
type Comm struct {
	ID         int64  `json:"id,omitempty"`
	Value      string `json:"value"`
	ValueType  string `json:"value_type"`
	Normalized string `json:"normalized,omitempty"`
}

// Comms groups the four multi-fields of a record.
type Comms struct {
	Phones []Comm `json:"phones"`
	Emails []Comm `json:"emails"`
	IMs    []Comm `json:"ims"`
	Webs   []Comm `json:"webs"`
}

// Normalize validates every item, fills value types and normalized values,
// and drops items with an empty value (Bitrix24: an empty VALUE deletes).
func (c *Comms) Normalize() error {
	var errs []error
	for _, f := range []struct {
		kind  string
		field string
		items *[]Comm
	}{
		{KindPhone, "phones", &c.Phones},
		{KindEmail, "emails", &c.Emails},
		{KindIM, "ims", &c.IMs},
		{KindWeb, "webs", &c.Webs},
	} {
		out := (*f.items)[:0]
		for i, it := range *f.items {
			it.Value = strings.TrimSpace(it.Value)
			if it.Value == "" {
				continue
			}
			name := fmt.Sprintf("%s[%d]", f.field, i)
			if err := normalizeComm(f.kind, &it); err != nil {
				errs = append(errs, Prefixed(name, err))
				continue
			}
			out = append(out, it)
		}
		if out == nil {
			out = []Comm{}
		}
		*f.items = out
	}
	// Every item at fault, so that a form marks them all.
	return JoinFields(errs...)
}

func normalizeComm(kind string, it *Comm) error {
	vt := strings.ToUpper(strings.TrimSpace(it.ValueType))
	if vt == "" {
		vt = defaultValueType[kind]
	}
	ok := false
	for _, t := range valueTypes[kind] {
		if t == vt {
			ok = true
		}
	}
	if !ok {
		return Invalid("value_type", "%q is not one of %s", it.ValueType, strings.Join(valueTypes[kind], ", "))
	}
	it.ValueType = vt
	if len(it.Value) > 255 {
		return Invalid("value", "longer than 255 characters")
	}
	switch kind {
	case KindPhone:
		if utf8.RuneCountInString(it.Value) > MaxPhoneLength {
			return Invalid("value", "longer than %d characters", MaxPhoneLength)
		}
		if len(onlyDigits(it.Value)) < 3 {
			return Invalid("value", "%q is not a phone number", it.Value)
		}
		it.Normalized = PhoneKey(it.Value)
	case KindEmail:
		n, ok := NormalizeEmail(it.Value)
		if !ok {
			return Invalid("value", "%q is not an e-mail address", it.Value)
		}
		it.Normalized = n
	default:
		it.Normalized = strings.ToLower(it.Value)
	}
	return nil
}

// All returns the items with their kinds, in storage order.
func (c *Comms) All() []KindComm {
	var out []KindComm
	for _, it := range c.Phones {
		out = append(out, KindComm{KindPhone, it})
	}
	for _, it := range c.Emails {
		out = append(out, KindComm{KindEmail, it})
	}
	for _, it := range c.IMs {
		out = append(out, KindComm{KindIM, it})
	}
	for _, it := range c.Webs {
		out = append(out, KindComm{KindWeb, it})
	}
	return out
}

// Add appends an item of the given kind (used when loading from storage).
func (c *Comms) Add(kind string, it Comm) {
	switch kind {
	case KindPhone:
		c.Phones = append(c.Phones, it)
	case KindEmail:
		c.Emails = append(c.Emails, it)
	case KindIM:
		c.IMs = append(c.IMs, it)
	case KindWeb:
		c.Webs = append(c.Webs, it)
	}
}

// Empty makes nil slices empty so that JSON shows [] rather than null.
func (c *Comms) Empty() {
	for _, p := range []*[]Comm{&c.Phones, &c.Emails, &c.IMs, &c.Webs} {
		if *p == nil {
			*p = []Comm{}
		}
	}
}

// KindComm is a multi-field item with its kind.
type KindComm struct {
	Kind string
	Comm
}
