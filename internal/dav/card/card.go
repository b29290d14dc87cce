// Package card maps CRM contacts to vCards (3.0 and 4.0) and back. A card
// a client sent is kept whole beside the contact (Stored.Raw), and a card
// is rendered by laying the contact's fields over it: what the CRM has no
// field for (PHOTO, IMPP, X-properties, Apple's item1.X-ABLabel groups,
// a TEL's extra TYPE values) comes back as the client sent it, so a round
// trip loses nothing. It imports no store: the leaf of the CardDAV server.
package card

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-vcard"

	"github.com/obmen/obmen/internal/crm"
)

// Stored is what is kept of a contact's card beside the CRM record.
type Stored struct {
	UID string // the client's UID, "" for a contact made in the CRM
	Raw string // the last card a client sent, "" if none
}

// UIDOf is the UID of contact id when no client gave one.
func UIDOf(id int64) string { return fmt.Sprintf("obmen-contact-%d", id) }

// mapped are the properties the contact's fields make; the others are
// copied from the stored card.
var mapped = map[string]bool{
	vcard.FieldVersion: true, vcard.FieldUID: true, vcard.FieldName: true, vcard.FieldFormattedName: true,
	vcard.FieldTelephone: true, vcard.FieldEmail: true, vcard.FieldURL: true, vcard.FieldAddress: true,
	vcard.FieldOrganization: true, vcard.FieldTitle: true, vcard.FieldBirthday: true, vcard.FieldNote: true,
	vcard.FieldRevision: true, vcard.FieldProductID: true, MarkPhoto: true,
}

// Render is the vCard of contact c. org is the title of its main account
// ("" for none); st what was stored of the client's card; ph the
// contact's photo (nil for none), which replaces the stored card's PHOTO
// (its picture is added by AddPhoto, after the ETag is known).
func Render(c crm.Contact, org string, st Stored, ph *Photo) (vcard.Card, error) {
	var base vcard.Card
	if st.Raw != "" {
		b, err := Parse(strings.NewReader(st.Raw))
		if err != nil {
			return nil, fmt.Errorf("card: the stored card of contact %d: %w", c.ID, err)
		}
		base = b
	} else {
		base = vcard.Card{}
	}
	out := vcard.Card{}
	for k, fs := range base {
		if !mapped[k] && (k != vcard.FieldPhoto || ph == nil) {
			out[k] = fs
		}
	}
	v4 := base.Value(vcard.FieldVersion) == "4.0"
	version := "3.0"
	if v4 {
		version = "4.0"
	}
	out.SetValue(vcard.FieldVersion, version)
	out.SetValue(vcard.FieldProductID, "-//Obmen//CardDAV//RU")
	uid := st.UID
	if uid == "" {
		uid = UIDOf(c.ID)
	}
	out.SetValue(vcard.FieldUID, uid)
	if !c.UpdatedAt.IsZero() {
		out.SetValue(vcard.FieldRevision, c.UpdatedAt.UTC().Format("20060102T150405Z"))
	}

	// Names: the stored N and FN stay when the contact's names are theirs.
	bn := base.Name()
	sameN := bn != nil && bn.FamilyName == c.LastName && bn.GivenName == c.Name && bn.AdditionalName == c.SecondName
	n := &vcard.Name{FamilyName: c.LastName, GivenName: c.Name, AdditionalName: c.SecondName}
	if bn != nil {
		n.Field = &vcard.Field{Params: bn.Params, Group: bn.Group}
		n.HonorificPrefix, n.HonorificSuffix = bn.HonorificPrefix, bn.HonorificSuffix
	}
	out.SetName(n)
	fn := base.Get(vcard.FieldFormattedName)
	if sameN && fn != nil && fn.Value != "" {
		out.Set(vcard.FieldFormattedName, fn)
	} else {
		out.SetValue(vcard.FieldFormattedName, formattedName(c, org))
	}

	putComms(out, base, vcard.FieldTelephone, crm.KindPhone, c.Phones)
	putComms(out, base, vcard.FieldEmail, crm.KindEmail, c.Emails)
	putComms(out, base, vcard.FieldURL, crm.KindWeb, c.Webs)

	// Addresses: the contact's address, then its other one.
	bas := base[vcard.FieldAddress]
	for i, a := range []crm.Address{c.Address, c.OtherAddress} {
		if a.String() == "" {
			continue
		}
		f := &vcard.Field{Value: adrValue(a), Params: vcard.Params{}}
		if i < len(bas) && adrValue(fromADR(bas[i].Value, a)) == adrValue(a) {
			f = bas[i] // as the client wrote it
		} else if i == 0 {
			f.Params.Set(vcard.ParamType, "work")
		} else {
			f.Params.Set(vcard.ParamType, "home")
		}
		out.Add(vcard.FieldAddress, f)
	}
	if org != "" {
		if bo := base.Get(vcard.FieldOrganization); bo != nil && firstComponent(bo.Value) == org {
			out.Set(vcard.FieldOrganization, bo)
		} else {
			out.SetValue(vcard.FieldOrganization, org)
		}
	} else if bo := base.Get(vcard.FieldOrganization); bo != nil {
		out.Set(vcard.FieldOrganization, bo) // a company the CRM does not know
	}
	keepOrSet(out, base, vcard.FieldTitle, c.Position)
	keepOrSet(out, base, vcard.FieldNote, c.Comments)
	if c.Birthdate != "" {
		if bb := base.Get(vcard.FieldBirthday); bb != nil && parseDate(bb.Value) == c.Birthdate {
			out.Set(vcard.FieldBirthday, bb)
		} else if v4 {
			out.SetValue(vcard.FieldBirthday, strings.ReplaceAll(c.Birthdate, "-", ""))
		} else {
			out.SetValue(vcard.FieldBirthday, c.Birthdate)
		}
	} else if bb := base.Get(vcard.FieldBirthday); bb != nil && parseDate(bb.Value) == "" {
		out.Set(vcard.FieldBirthday, bb) // a birthday with no year: the CRM cannot hold it
	}
	return out, nil
}

func keepOrSet(out, base vcard.Card, prop, v string) {
	if v == "" {
		return
	}
	if b := base.Get(prop); b != nil && b.Value == v {
		out.Set(prop, b)
		return
	}
	out.SetValue(prop, v)
}

func firstComponent(v string) string {
	s, _, _ := strings.Cut(v, ";")
	return s
}

func formattedName(c crm.Contact, org string) string {
	if s := strings.Join(nonEmpty(c.Name, c.SecondName, c.LastName), " "); s != "" {
		return s
	}
	for _, s := range []string{org} {
		if s != "" {
			return s
		}
	}
	if len(c.Emails) > 0 {
		return c.Emails[0].Value
	}
	if len(c.Phones) > 0 {
		return c.Phones[0].Value
	}
	return UIDOf(c.ID)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// The TYPE values of each kind's value types, vCard side.
var typeOut = map[string]string{
	"WORK": "work", "HOME": "home", "MOBILE": "cell", "FAX": "fax", "PAGER": "pager", "MAILING": "x-mailing", "OTHER": "other",
}

// valueTypes are the CRM's value types of each kind that a card can carry.
var valueTypes = map[string][]string{
	crm.KindPhone: {"WORK", "MOBILE", "HOME", "FAX", "PAGER", "MAILING", "OTHER"},
	crm.KindEmail: {"WORK", "HOME", "MAILING", "OTHER"},
	crm.KindWeb:   {"WORK", "HOME", "VK", "FACEBOOK", "TWITTER", "LIVEJOURNAL", "INSTAGRAM", "TELEGRAM", "OTHER"},
}

// valueType is the CRM value type of a TEL, EMAIL or URL field.
func valueType(kind string, f *vcard.Field) string {
	got := ""
	for _, t := range f.Params.Types() {
		t = strings.ToUpper(strings.TrimSpace(t))
		switch t {
		case "CELL", "MOBILE", "IPHONE":
			t = "MOBILE"
		case "X-MAILING":
			t = "MAILING"
		}
		if !slices.Contains(valueTypes[kind], t) {
			continue
		}
		if t == "FAX" || t == "MOBILE" || t == "PAGER" || got == "" {
			got = t // "work,fax" is a fax, "work,cell" a mobile
		}
	}
	if got == "" {
		return "WORK"
	}
	return got
}

// putComms writes a kind's items, each over the stored field of the same
// value when there is one (its group and parameters kept when its type
// still reads the same).
func putComms(out, base vcard.Card, prop, kind string, items []crm.Comm) {
	used := map[int]bool{}
	bs := base[prop]
	for _, it := range items {
		var f *vcard.Field
		for i, b := range bs {
			if !used[i] && commValue(kind, b.Value) == it.Value {
				used[i] = true
				f = b
				break
			}
		}
		if f != nil && valueType(kind, f) == it.ValueType {
			out.Add(prop, f)
			continue
		}
		nf := &vcard.Field{Value: it.Value, Params: vcard.Params{}}
		if f != nil {
			nf.Group = f.Group
		}
		t := typeOut[it.ValueType]
		if t == "" {
			t = strings.ToLower(it.ValueType)
		}
		nf.Params.Set(vcard.ParamType, t)
		out.Add(prop, nf)
	}
}

// adrValue is an address as the seven ADR components: the flat (an
// office, a room) in the extended address, the house after the street
// ("ул Баумана, д 19"), so that a client shows and edits them apart and
// fromADR reads them back into their own parts.
func adrValue(a crm.Address) string {
	street := strings.Join(nonEmpty(a.Street, houseOut(a.House)), ", ")
	return strings.Join([]string{"", esc(strings.TrimSpace(a.Flat)), esc(street), esc(a.City), esc(a.Region), esc(a.Postcode), esc(a.Country)}, ";")
}

// houseOut is a house as the street component ends with it: a number
// typed alone gets «д» before it.
func houseOut(h string) string {
	h = strings.TrimSpace(h)
	if h != "" && h[0] >= '0' && h[0] <= '9' {
		return "д " + h
	}
	return h
}

func esc(s string) string { return strings.ReplaceAll(s, ";", ",") }

// The parts of a street component after the street: a house (a number,
// or one after its type — д, дом, вл, корп, стр, лит…) and a flat (кв,
// оф, пом, комн, каб…, then its number).
var (
	housePart = regexp.MustCompile(`(?i)^(?:(?:д|дом|вл|влд|владение|зд|здание|корп|корпус|к|стр|строение|лит|литера|уч|участок)\.?\s*)?\d[\p{L}\d/\-]*(?:\s*(?:корп|корпус|к|стр|строение|лит|литера)\.?\s*[\p{L}\d/\-]+)*$`)
	flatPart  = regexp.MustCompile(`(?i)^(?:кв|квартира|оф|офис|пом|помещение|комн|комната|к-та|каб|кабинет|эт|этаж)\.?\s*[\p{L}\d/\-]+$`)
)

// splitStreet takes a house and a flat off the end of a street
// component ("ул. Ленина, д. 5, корп. 2, кв. 7"); the street keeps at
// least its first part.
func splitStreet(v string) (street, house, flat string) {
	var parts []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 1 && flatPart.MatchString(parts[len(parts)-1]) {
		flat = parts[len(parts)-1]
		parts = parts[:len(parts)-1]
	}
	n := len(parts)
	for n > 1 && housePart.MatchString(parts[n-1]) {
		n--
	}
	return strings.Join(parts[:n], ", "), strings.Join(parts[n:], ", "), flat
}

// fromADR reads ADR components into an address; when they say what cur
// says, cur is kept (its house and flat as typed, its ФИАС id).
func fromADR(v string, cur crm.Address) crm.Address {
	p := strings.Split(v, ";")
	get := func(i int) string {
		if i < len(p) {
			return strings.TrimSpace(p[i])
		}
		return ""
	}
	street, house, flat := splitStreet(get(2))
	a := crm.Address{Street: street, House: house, City: get(3), Region: get(4), Postcode: get(5), Country: get(6)}
	a.Flat = strings.Join(nonEmpty(get(1), flat, get(0)), ", ")
	if adrValue(a) == adrValue(cur) {
		return cur
	}
	return a
}

// parseDate reads a vCard date (1990-05-17, 19900517, with a time after
// it or not) as YYYY-MM-DD; "" when it has no year (--0517) or is not one.
func parseDate(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, 'T'); i > 0 {
		v = v[:i]
	}
	for _, layout := range []string{"2006-01-02", "20060102"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return ""
}

// Apply sets c's fields from a card a client sent; c holds the contact as
// it is (zero for a new one), so that what the card says as the CRM does
// leaves the CRM's finer detail alone.
func Apply(card vcard.Card, c *crm.Contact) {
	if n := card.Name(); n != nil && (n.FamilyName != "" || n.GivenName != "" || n.AdditionalName != "") {
		c.LastName, c.Name, c.SecondName = strings.TrimSpace(n.FamilyName), strings.TrimSpace(n.GivenName), strings.TrimSpace(n.AdditionalName)
	} else if fn := strings.TrimSpace(card.Value(vcard.FieldFormattedName)); fn != "" && card.Value(vcard.FieldKind) != "org" {
		c.LastName, c.Name, c.SecondName = "", fn, ""
	} else {
		c.LastName, c.Name, c.SecondName = "", "", ""
	}
	c.Phones = comms(card, vcard.FieldTelephone, crm.KindPhone, c.Phones)
	c.Emails = comms(card, vcard.FieldEmail, crm.KindEmail, c.Emails)
	c.Webs = comms(card, vcard.FieldURL, crm.KindWeb, c.Webs)
	adrs := card[vcard.FieldAddress]
	prev, prevOther := c.Address, c.OtherAddress
	c.Address, c.OtherAddress = crm.Address{}, crm.Address{}
	if len(adrs) > 0 {
		c.Address = fromADR(adrs[0].Value, prev)
	}
	if len(adrs) > 1 {
		c.OtherAddress = fromADR(adrs[1].Value, prevOther)
	}
	c.Position = strings.TrimSpace(card.Value(vcard.FieldTitle))
	c.Comments = card.Value(vcard.FieldNote)
	c.Birthdate = parseDate(card.Value(vcard.FieldBirthday))
}

func comms(card vcard.Card, prop, kind string, cur []crm.Comm) []crm.Comm {
	out := []crm.Comm{}
	for _, f := range card[prop] {
		v := commValue(kind, f.Value)
		if v == "" {
			continue
		}
		it := crm.Comm{Value: v, ValueType: valueType(kind, f)}
		for _, c := range cur {
			if c.Value == v {
				it.ID = c.ID
			}
		}
		out = append(out, it)
	}
	return out
}

// commValue is a TEL, EMAIL or URL value as the CRM keeps it (a 4.0
// TEL may be a tel: URI).
func commValue(kind, v string) string {
	v = strings.TrimSpace(v)
	switch kind {
	case crm.KindPhone:
		v = strings.TrimPrefix(v, "tel:")
	case crm.KindEmail:
		v = strings.TrimPrefix(v, "mailto:")
	}
	return v
}

// MaxBytes is the largest card accepted (a photo makes most of it).
const MaxBytes = 4 << 20

// Parse reads one vCard. A line that is not a property is an error
// naming it (go-vcard would skip it silently, and with it a field).
func Parse(r io.Reader) (vcard.Card, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("vCard: read: %w", err)
	}
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("vCard: larger than %d bytes", MaxBytes)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("vCard: not UTF-8 text")
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), MaxBytes+1)
	lineNo, start := 0, 0
	var cur strings.Builder
	check := func() error {
		l := cur.String()
		cur.Reset()
		if l == "" {
			return nil
		}
		name, _, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(strings.SplitN(name, ";", 2)[0], " \t\"") {
			return fmt.Errorf("vCard line %d: %q is not a property (NAME:value)", start, clip(l))
		}
		return nil
	}
	for sc.Scan() {
		lineNo++
		l := strings.TrimRight(sc.Text(), "\r")
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			cur.WriteString(l[1:]) // a folded line goes on
			continue
		}
		if err := check(); err != nil {
			return nil, err
		}
		start = lineNo
		cur.WriteString(l)
	}
	if err := check(); err != nil {
		return nil, err
	}
	card, err := vcard.NewDecoder(bytes.NewReader(b)).Decode()
	if err == io.EOF {
		return nil, fmt.Errorf("vCard: no BEGIN:VCARD")
	}
	if err != nil {
		return nil, fmt.Errorf("vCard: %w", err)
	}
	for k, fs := range card {
		if !validName(k) {
			return nil, fmt.Errorf("vCard: %q is not a property name", clip(k))
		}
		for _, f := range fs {
			if f.Group != "" && !validName(f.Group) {
				return nil, fmt.Errorf("vCard: %s: %q is not a group name", k, clip(f.Group))
			}
			for pk := range f.Params {
				if !validName(pk) {
					return nil, fmt.Errorf("vCard: %s: %q is not a parameter name", k, clip(pk))
				}
			}
		}
	}
	if v := card.Value(vcard.FieldVersion); v != "3.0" && v != "4.0" {
		return nil, fmt.Errorf("vCard: VERSION %q: 3.0 and 4.0 are supported", v)
	}
	return card, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func clip(s string) string { return crm.ClipText(s, 60) }

// uriProps hold URIs or binary data, where a comma is not escaped.
var uriProps = map[string]bool{"PHOTO": true, "LOGO": true, "SOUND": true, "KEY": true, "URL": true, "UID": true,
	"IMPP": true, "SOURCE": true, "FBURL": true, "CALURI": true, "CALADRURI": true, "MEMBER": true, "RELATED": true, "GEO": true, "TEL": true,
	// Lists, where a comma separates values.
	"CATEGORIES": true, "NICKNAME": true}

// Encode writes card in a stable order (VERSION first, then properties,
// parameters and their values sorted; fields of one property in their
// order), lines folded at 75 octets — so that equal cards are equal bytes
// and an ETag can be their hash.
func Encode(w io.Writer, card vcard.Card) error {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCARD\r\n")
	v := card.Get(vcard.FieldVersion)
	if v == nil {
		return fmt.Errorf("card: VERSION missing")
	}
	writeLine(&b, vcard.FieldVersion, v)
	keys := make([]string, 0, len(card))
	for k := range card {
		if k != vcard.FieldVersion {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, f := range card[k] {
			writeLine(&b, k, f)
		}
	}
	b.WriteString("END:VCARD\r\n")
	_, err := w.Write(b.Bytes())
	return err
}

// escapeText escapes a text value as go-vcard's decoder reads it back;
// "\;" (which that decoder leaves as it is) is written as it came.
func escapeText(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) && v[i+1] == ';' {
				b.WriteString("\\;")
				i++
				continue
			}
			b.WriteString("\\\\")
		case '\r':
			if i+1 < len(v) && v[i+1] == '\n' {
				continue
			}
			b.WriteString("\\n")
		case '\n':
			b.WriteString("\\n")
		case ',':
			b.WriteString("\\,")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var uriEscaper = strings.NewReplacer("\r\n", "\\n", "\n", "\\n")
var paramEscaper = strings.NewReplacer("\r\n", " ", "\n", " ", "\"", "'")

func writeLine(b *bytes.Buffer, key string, f *vcard.Field) {
	var l strings.Builder
	if f.Group != "" {
		l.WriteString(f.Group + ".")
	}
	l.WriteString(key)
	pks := make([]string, 0, len(f.Params))
	for k := range f.Params {
		pks = append(pks, k)
	}
	sort.Strings(pks)
	for _, k := range pks {
		// One parameter, its values joined by commas: go-vcard splits a
		// quoted value at its commas too (LABEL="Невский пр., 1"), so a
		// value other than TYPE's is quoted whole to read back the same.
		vs := make([]string, len(f.Params[k]))
		for i, pv := range f.Params[k] {
			vs[i] = paramEscaper.Replace(pv)
		}
		pv := strings.Join(vs, ",")
		if strings.ContainsAny(pv, ":;") || (k != vcard.ParamType && strings.Contains(pv, ",")) {
			pv = `"` + pv + `"`
		}
		l.WriteString(";" + k + "=" + pv)
	}
	l.WriteString(":")
	if uriProps[key] {
		l.WriteString(uriEscaper.Replace(f.Value))
	} else {
		l.WriteString(escapeText(f.Value))
	}
	fold(b, l.String())
}

// fold writes a content line in pieces of at most 75 octets, never
// splitting a UTF-8 character.
func fold(b *bytes.Buffer, s string) {
	first := true
	for len(s) > 0 {
		max := 75
		if !first {
			max = 74
		}
		if len(s) <= max {
			if !first {
				b.WriteByte(' ')
			}
			b.WriteString(s)
			break
		}
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if !first {
			b.WriteByte(' ')
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n")
		s = s[cut:]
		first = false
	}
	b.WriteString("\r\n")
}

// Bytes is the encoded card.
func Bytes(card vcard.Card) ([]byte, error) {
	var b bytes.Buffer
	err := Encode(&b, card)
	return b.Bytes(), err
}

// ETag is the entity tag of an encoded card.
func ETag(encoded []byte) string {
	h := sha256.Sum256(encoded)
	return hex.EncodeToString(h[:12])
}
