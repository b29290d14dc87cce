package tmpl

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeLayout is how a time.Time reads inside text: the day-first form a
// Russian user writes in a comment, in the time's own zone (our functions
// return times in the render's zone). RFC 3339 is for machines; json()
// uses it.
const TimeLayout = "02.01.2006 15:04"

// textWriter collects rendered text, refusing to grow past max bytes and
// charging the run for every byte, so formatting a huge or exponentially
// shared value (a DAG built by reduce) stops early.
type textWriter struct {
	b     strings.Builder
	r     *run
	max   int
	depth int // nesting of the JSON being written
}

func newTextWriter(r *run) *textWriter { return &textWriter{r: r, max: MaxTextLen} }

func (w *textWriter) WriteString(s string) error {
	if w.b.Len()+len(s) > w.max {
		return limitError(fmt.Sprintf("text longer than %d bytes", w.max))
	}
	if w.r != nil {
		if err := w.r.charge(len(s)); err != nil {
			return err
		}
	}
	w.b.WriteString(s)
	return nil
}

func (w *textWriter) String() string { return w.b.String() }

// textOf formats v as text (see formatText) within the run's bounds.
func textOf(r *run, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	w := newTextWriter(r)
	if err := formatText(w, v); err != nil {
		return "", err
	}
	return w.String(), nil
}

// formatText writes v as a user reads it inside text: nil as nothing,
// numbers in plain decimal notation with a dot, times per TimeLayout,
// lists as their items joined with ", " (nil items skipped, nested lists
// and maps as JSON), maps as JSON.
func formatText(w *textWriter, v any) error {
	if s, ok := scalarText(v); ok {
		return w.WriteString(s)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		first := true
		for i := 0; i < rv.Len(); i++ {
			item := rv.Index(i).Interface()
			if item == nil {
				continue
			}
			if !first {
				if err := w.WriteString(", "); err != nil {
					return err
				}
			}
			first = false
			var err error
			if s, ok := scalarText(item); ok {
				err = w.WriteString(s)
			} else {
				err = writeJSON(w, item)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		return writeJSON(w, v)
	}
	return fmt.Errorf("cannot show a value of type %T", v)
}

// scalarText formats values that are not containers; ok is false for
// containers and unsupported types.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return decimalText(x, maxPlaces, true), true
	case time.Time:
		return x.Format(TimeLayout), true
	case []byte:
		return string(x), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return decimalText(rv.Float(), maxPlaces, true), true
	case reflect.String:
		return rv.String(), true
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), true
	}
	return "", false
}

// plainText is scalarText for map keys and similar places where a
// container cannot appear or its text does not matter.
func plainText(v any) string {
	if s, ok := scalarText(v); ok {
		return s
	}
	return fmt.Sprintf("%T", v)
}

// writeJSON writes compact JSON of a JSON-like value: map keys sorted,
// no HTML escaping (texts go to CRMs and messengers, not to HTML), times
// as RFC 3339, NaN and infinities as null. It is ours rather than
// encoding/json because encoding/json builds the whole output in memory
// before anyone can stop it.
func writeJSON(w *textWriter, v any) error {
	if w.depth >= MaxDepth {
		return errTooDeep
	}
	w.depth++
	defer func() { w.depth-- }()
	switch x := v.(type) {
	case nil:
		return w.WriteString("null")
	case string:
		return writeJSONString(w, x)
	case bool:
		return w.WriteString(strconv.FormatBool(x))
	case int64:
		return w.WriteString(strconv.FormatInt(x, 10))
	case float64:
		return w.WriteString(jsonFloat(x))
	case time.Time:
		return writeJSONString(w, x.Format(time.RFC3339Nano))
	case []byte:
		return writeJSONString(w, string(x))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return writeJSONObject(w, keys, func(k string) any { return x[k] })
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Bool:
		s, _ := scalarText(v)
		return w.WriteString(s)
	case reflect.Float32, reflect.Float64:
		return w.WriteString(jsonFloat(rv.Float()))
	case reflect.String:
		return writeJSONString(w, rv.String())
	case reflect.Slice, reflect.Array:
		if err := w.WriteString("["); err != nil {
			return err
		}
		for i := 0; i < rv.Len(); i++ {
			if i > 0 {
				if err := w.WriteString(","); err != nil {
					return err
				}
			}
			if err := writeJSON(w, rv.Index(i).Interface()); err != nil {
				return err
			}
		}
		return w.WriteString("]")
	case reflect.Map:
		byKey := make(map[string]any, rv.Len())
		keys := make([]string, 0, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := plainText(it.Key().Interface())
			byKey[k] = it.Value().Interface()
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return writeJSONObject(w, keys, func(k string) any { return byKey[k] })
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return w.WriteString("null")
		}
	}
	return fmt.Errorf("cannot encode a value of type %T as JSON", v)
}

func writeJSONObject(w *textWriter, keys []string, get func(string) any) error {
	if err := w.WriteString("{"); err != nil {
		return err
	}
	for i, k := range keys {
		if i > 0 {
			if err := w.WriteString(","); err != nil {
				return err
			}
		}
		if err := writeJSONString(w, k); err != nil {
			return err
		}
		if err := w.WriteString(":"); err != nil {
			return err
		}
		if err := writeJSON(w, get(k)); err != nil {
			return err
		}
	}
	return w.WriteString("}")
}

func jsonFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

func writeJSONString(w *textWriter, s string) error {
	if w.b.Len()+len(s)+2 > w.max { // before escaping a huge string into a buffer
		return limitError(fmt.Sprintf("text longer than %d bytes", w.max))
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029': // valid JSON, but they break JavaScript readers
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return w.WriteString(b.String())
}
