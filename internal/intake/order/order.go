// Package order reads the lead/order JSON that sites send (seed 004,
// version 0.1): the contact data of a request and, optionally, its goods
// and services with material, sizes and extra works. It is a leaf codec:
// bytes in, an Order or an error naming the field (and, for broken JSON,
// the line) out.
//
// The file may be in UTF-8 (with or without a BOM) or in windows-1251, the
// encoding the seed prescribes; the caller passes the charset it was told
// (Content-Type, MIME part) or "" to have it detected.
package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Order is one request from a site.
type Order struct {
	Subject       string    `json:"subject"`        // Тема
	Date          time.Time `json:"date"`           // Дата (zero when absent)
	Description   string    `json:"description"`    // Описание
	INN           string    `json:"inn"`            // ИНН
	Phone         string    `json:"phone"`          // Телефон
	Email         string    `json:"email"`          // АдресЭлектроннойПочты
	ContactPerson string    `json:"contact_person"` // КонтактноеЛицо
	LayoutFiles   []string  `json:"layout_files"`   // ФайлыМакета[].Файл
	Items         []Item    `json:"items"`          // Товары
}

// Item is a row of Товары: a good (one row → one job card later) or a
// service. Numbers are kept as the decimal text they came as ("2", "0.5")
// so that no precision is lost; "" when absent.
type Item struct {
	Name         string      `json:"name"`          // Номенклатура
	MachineCode  string      `json:"machine_code"`  // СтанокКод
	Resolution   string      `json:"resolution"`    // Разрешеине (sic) or Разрешение
	Material     string      `json:"material"`      // Материал
	MaterialCode string      `json:"material_code"` // МатериалКод
	Width        string      `json:"width"`         // Ширина
	Height       string      `json:"height"`        // Высота
	Quantity     string      `json:"quantity"`      // Количество
	Price        string      `json:"price"`         // Цена
	Sum          string      `json:"sum"`           // Сумма
	Service      bool        `json:"service"`       // Услуга
	ExtraWorks   []ExtraWork `json:"extra_works"`   // ДополнительныеРаботы
}

// ExtraWork is a post-print work on a row (eyelets, gluing, pockets).
type ExtraWork struct {
	Kind        string `json:"kind"`        // ВидРаботы
	Quantity    string `json:"quantity"`    // Количество
	Description string `json:"description"` // Описание
}

// Error is a fault in the file: the field at fault (a JSON path in the
// seed's Russian names, "Товары[1].Цена"), the line when known, and what
// is wrong.
type Error struct {
	Field   string
	Line    int
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("order: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

func fieldErr(field, format string, args ...any) error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// DateLayout is the seed's date format.
const DateLayout = "02.01.2006 15:04:05"

// MaxSize is the largest file Parse accepts.
const MaxSize = 4 << 20

// Options tune Parse.
type Options struct {
	// Location is where the file's dates are read (default UTC+3, Moscow,
	// which 1C-era sites write without a zone).
	Location *time.Location
}

var moscow = time.FixedZone("MSK", 3*3600)

// Parse decodes a file in the given charset ("" to detect) and reads it.
func Parse(b []byte, charset string, o Options) (Order, error) {
	text, err := Decode(b, charset)
	if err != nil {
		return Order{}, err
	}
	return Read(text, o)
}

// Decode turns the file into UTF-8: a UTF-8 BOM wins, then the declared
// charset (utf-8, windows-1251 and its aliases), then detection (valid
// UTF-8 is UTF-8, anything else windows-1251).
func Decode(b []byte, charset string) ([]byte, error) {
	if len(b) > MaxSize {
		return nil, fieldErr("", "file of %d bytes is over the %d-byte limit", len(b), MaxSize)
	}
	if rest, ok := bytes.CutPrefix(b, []byte("\xef\xbb\xbf")); ok {
		if !utf8.Valid(rest) {
			return nil, fieldErr("charset", "file starts with a UTF-8 byte-order mark but is not valid UTF-8")
		}
		return rest, nil
	}
	switch cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"`)); cs {
	case "":
		if utf8.Valid(b) {
			return b, nil
		}
		return cp1251(b)
	case "utf-8", "utf8":
		if !utf8.Valid(b) {
			return nil, fieldErr("charset", "declared utf-8 but the body is not valid UTF-8")
		}
		return b, nil
	case "windows-1251", "cp1251", "cp-1251", "x-cp1251", "win-1251":
		return cp1251(b)
	case "us-ascii", "ascii":
		if !utf8.Valid(b) {
			return cp1251(b)
		}
		return b, nil
	default:
		return nil, fieldErr("charset", "%q is not supported: send utf-8 or windows-1251", charset)
	}
}

func cp1251(b []byte) ([]byte, error) {
	out, err := charmap.Windows1251.NewDecoder().Bytes(b)
	if err != nil {
		return nil, fieldErr("charset", "not windows-1251: %v", err)
	}
	return out, nil
}

// Read reads UTF-8 text.
func Read(text []byte, o Options) (Order, error) {
	loc := o.Location
	if loc == nil {
		loc = moscow
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return Order{}, syntaxErr(text, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Order{}, &Error{Line: lineAt(text, dec.InputOffset()), Message: "unexpected data after the JSON object"}
	}
	m, ok := root.(map[string]any)
	if !ok {
		return Order{}, fieldErr("", "want a JSON object, got %s", kind(root))
	}
	r := reader{}
	var ord Order
	ord.Subject = r.str(m, "", "Тема")
	ord.Description = r.str(m, "", "Описание")
	ord.INN = strings.ReplaceAll(r.str(m, "", "ИНН"), " ", "")
	ord.Phone = r.str(m, "", "Телефон")
	ord.Email = r.str(m, "", "АдресЭлектроннойПочты")
	ord.ContactPerson = r.str(m, "", "КонтактноеЛицо")
	if d := r.str(m, "", "Дата"); d != "" && r.err == nil {
		t, err := parseDate(d, loc)
		if err != nil {
			r.fail("Дата", "%q is not a date in the form dd.mm.yyyy hh:mm:ss", d)
		}
		ord.Date = t
	}
	if r.err == nil && ord.INN != "" && !innShape.MatchString(ord.INN) {
		r.fail("ИНН", "%q must have 10 or 12 digits", ord.INN)
	}
	for i, f := range r.arr(m, "", "ФайлыМакета") {
		p := fmt.Sprintf("ФайлыМакета[%d]", i)
		switch v := f.(type) {
		case string: // a bare link is taken too
			if s := strings.TrimSpace(v); s != "" {
				ord.LayoutFiles = append(ord.LayoutFiles, s)
			}
		case map[string]any:
			if s := r.str(v, p, "Файл"); s != "" {
				ord.LayoutFiles = append(ord.LayoutFiles, s)
			}
		default:
			r.fail(p, "want an object with Файл, got %s", kind(f))
		}
	}
	for i, it := range r.arr(m, "", "Товары") {
		p := fmt.Sprintf("Товары[%d]", i)
		im, ok := it.(map[string]any)
		if !ok {
			r.fail(p, "want an object, got %s", kind(it))
			break
		}
		var item Item
		item.Name = r.str(im, p, "Номенклатура")
		item.MachineCode = r.str(im, p, "СтанокКод")
		item.Resolution = r.str(im, p, "Разрешеине")
		if item.Resolution == "" {
			item.Resolution = r.str(im, p, "Разрешение")
		}
		item.Material = r.str(im, p, "Материал")
		item.MaterialCode = r.str(im, p, "МатериалКод")
		item.Width = r.num(im, p, "Ширина")
		item.Height = r.num(im, p, "Высота")
		item.Quantity = r.num(im, p, "Количество")
		item.Price = r.num(im, p, "Цена")
		item.Sum = r.num(im, p, "Сумма")
		item.Service = r.boolean(im, p, "Услуга")
		for j, w := range r.arr(im, p, "ДополнительныеРаботы") {
			wp := fmt.Sprintf("%s.ДополнительныеРаботы[%d]", p, j)
			wm, ok := w.(map[string]any)
			if !ok {
				r.fail(wp, "want an object, got %s", kind(w))
				break
			}
			item.ExtraWorks = append(item.ExtraWorks, ExtraWork{
				Kind: r.str(wm, wp, "ВидРаботы"), Quantity: r.num(wm, wp, "Количество"), Description: r.str(wm, wp, "Описание"),
			})
		}
		if r.err == nil && item.Name == "" {
			r.fail(p+".Номенклатура", "required in every row of Товары")
		}
		ord.Items = append(ord.Items, item)
	}
	if r.err != nil {
		return Order{}, r.err
	}
	if ord.Subject == "" && ord.Phone == "" && ord.Email == "" && ord.ContactPerson == "" && ord.INN == "" && len(ord.Items) == 0 {
		return Order{}, fieldErr("", "empty request: none of Тема, Телефон, АдресЭлектроннойПочты, КонтактноеЛицо, ИНН, Товары is filled")
	}
	return ord, nil
}

var (
	innShape    = regexp.MustCompile(`^(\d{10}|\d{12})$`)
	numberShape = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
)

func parseDate(s string, loc *time.Location) (time.Time, error) {
	for _, l := range []string{DateLayout, "02.01.2006 15:04", "02.01.2006"} {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date")
}

// reader walks the decoded JSON, keeping the first error.
type reader struct{ err error }

func (r *reader) fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = fieldErr(field, format, args...)
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// str reads a text field; numbers are taken as their text (СтанокКод: 1).
func (r *reader) str(m map[string]any, prefix, name string) string {
	v, ok := m[name]
	if !ok || v == nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	r.fail(join(prefix, name), "want text, got %s", kind(v))
	return ""
}

// num reads a number, also from text ("2,5" with a decimal comma, spaces
// as thousands separators), as canonical decimal text.
func (r *reader) num(m map[string]any, prefix, name string) string {
	v, ok := m[name]
	if !ok || v == nil {
		return ""
	}
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.NewReplacer(" ", "", "\u00a0", "", ",", ".").Replace(strings.TrimSpace(v))
		if s == "" {
			return ""
		}
	default:
		r.fail(join(prefix, name), "want a number, got %s", kind(v))
		return ""
	}
	if !numberShape.MatchString(s) {
		// JSON allows exponents; the seed's sites never send them, and a
		// decimal is what the CRM stores.
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f != f || f > 1e15 || f < -1e15 {
			r.fail(join(prefix, name), "%q is not a number", fmt.Sprint(v))
			return ""
		}
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	if strings.HasPrefix(s, "-") {
		r.fail(join(prefix, name), "%s must not be negative", s)
		return ""
	}
	if len(s) > 30 {
		r.fail(join(prefix, name), "%s is too long for a number", s[:30])
		return ""
	}
	return s
}

func (r *reader) boolean(m map[string]any, prefix, name string) bool {
	v, ok := m[name]
	if !ok || v == nil {
		return false
	}
	switch v := v.(type) {
	case bool:
		return v
	case json.Number:
		switch v.String() {
		case "0":
			return false
		case "1":
			return true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "да", "1", "yes", "истина":
			return true
		case "false", "нет", "0", "no", "ложь", "":
			return false
		}
	}
	r.fail(join(prefix, name), "want true or false, got %v", v)
	return false
}

func (r *reader) arr(m map[string]any, prefix, name string) []any {
	v, ok := m[name]
	if !ok || v == nil {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		r.fail(join(prefix, name), "want an array, got %s", kind(v))
		return nil
	}
	return a
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case json.Number:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func syntaxErr(text []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: lineAt(text, se.Offset), Message: "invalid JSON: " + se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Line: lineAt(text, int64(len(text))), Message: "invalid JSON: unexpected end of file"}
	}
	return &Error{Message: "invalid JSON: " + err.Error()}
}

func lineAt(text []byte, off int64) int {
	if off > int64(len(text)) {
		off = int64(len(text))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(text[:off], []byte("\n")) + 1
}
