package tmpl

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// maxPlaces is how many fractional digits a float keeps in text when no
// count is asked for: enough for rates and weights, and it hides binary
// noise such as 0.1+0.2 = 0.30000000000000004.
const maxPlaces = 9

// number is a numeric value kept exact when it is an integer.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func (n number) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// value returns n as expressions see numbers: int64 or float64.
func (n number) value() any {
	if n.isInt {
		return n.i
	}
	return normFloat(n.f)
}

// cmp orders two numbers, exactly when both are integers.
func (n number) cmp(m number) int {
	if n.isInt && m.isInt {
		switch {
		case n.i < m.i:
			return -1
		case n.i > m.i:
			return 1
		}
		return 0
	}
	a, b := n.float(), m.float()
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// toNumber reads a Go number or numeric text (see parseNumber). ok is
// false for anything else, including nil and empty text.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case int64:
		return number{i: x, isInt: true}, true
	case int:
		return number{i: int64(x), isInt: true}, true
	case float64:
		if i, ok := normFloat(x).(int64); ok {
			return number{i: i, isInt: true}, true
		}
		return number{f: x}, true
	case string:
		return parseNumber(x)
	case bool, nil:
		return number{}, false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return number{i: rv.Int(), isInt: true}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return number{i: int64(u), isInt: true}, true
		}
		return number{f: float64(rv.Uint())}, true
	case reflect.Float32, reflect.Float64:
		return toNumber(rv.Float())
	}
	return number{}, false
}

// isGroupSpace reports the spaces people and CRMs put between thousands.
func isGroupSpace(r rune) bool {
	return r == ' ' || r == '\u00a0' || r == '\u202f' || r == '\u2009'
}

// parseNumber reads numbers as Russian users and CRMs write them:
// "1500", "-3", "1500.50", "1500,50", "1 500,50" (space, NBSP or narrow
// NBSP between thousands), "1,234.56" and "1.234,56". A single "," or "."
// is the decimal separator ("1,500" is one and a half, as in Russian);
// when both appear, the last one is. Thousands groups must have exactly
// three digits, which keeps dates ("05.12.2026") and phone numbers
// ("8 912 345 67 89") from reading as numbers. No exponents, no "Inf".
func parseNumber(s string) (number, bool) {
	// 1 KiB holds the largest float64 (309 digits) with NBSP groups and
	// decimals, so what number() writes always reads back. Checked before
	// trimming too, which may scan a long text of spaces.
	if len(s) > 4096 {
		return number{}, false
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 1024 {
		return number{}, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	// Find the decimal separator.
	dec := -1
	lastComma, lastDot := strings.LastIndexByte(s, ','), strings.LastIndexByte(s, '.')
	commas, dots := strings.Count(s, ","), strings.Count(s, ".")
	switch {
	case commas > 0 && dots > 0:
		dec = max(lastComma, lastDot)
		if (dec == lastComma && commas > 1) || (dec == lastDot && dots > 1) {
			return number{}, false
		}
	case commas == 1:
		dec = lastComma
	case dots == 1:
		dec = lastDot
	}
	intPart, frac := s, ""
	if dec >= 0 {
		intPart, frac = s[:dec], s[dec+1:]
		if frac == "" || strings.TrimLeft(frac, "0123456789") != "" {
			return number{}, false
		}
	}
	digits, ok := ungroup(intPart)
	if !ok {
		return number{}, false
	}
	text := digits
	if neg {
		text = "-" + text
	}
	if frac == "" {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return number{i: i, isInt: true}, true
		}
	}
	if frac != "" {
		text += "." + frac
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !(isRangeErr(err) && !math.IsInf(f, 0)) { // underflow to 0 is fine
		return number{}, false
	}
	if i, ok := normFloat(f).(int64); ok {
		return number{i: i, isInt: true}, true
	}
	return number{f: f}, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// ungroup returns the digits of an integer part written with or without
// thousands separators (spaces, "," or "."), or ok=false.
func ungroup(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	var b strings.Builder
	group, groups := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			group++
		case isGroupSpace(r) || r == ',' || r == '.':
			if group == 0 || (groups > 0 && group != 3) || (groups == 0 && group > 3) {
				return "", false
			}
			groups++
			group = 0
		default:
			return "", false
		}
	}
	if group == 0 || (groups > 0 && group != 3) {
		return "", false
	}
	return b.String(), true
}

// decimalText writes f in plain decimal notation with a dot, rounded half
// away from zero at places fractional digits (of its shortest exact
// representation, which is the number people see: 2.675 rounds to 2.68),
// padded with zeros unless trim.
func decimalText(f float64, places int, trim bool) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return roundDecimal(strconv.FormatFloat(f, 'f', -1, 64), places, trim)
}

// intText is decimalText for an int64.
func intText(i int64, places int, trim bool) string {
	return roundDecimal(strconv.FormatInt(i, 10), places, trim)
}

// roundDecimal rounds decimal text like "-1234.5678".
func roundDecimal(s string, places int, trim bool) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) > places {
		up := frac[places] >= '5'
		frac = frac[:places]
		if up {
			digits := []byte(intPart + frac)
			i := len(digits) - 1
			for ; i >= 0; i-- {
				if digits[i] == '9' {
					digits[i] = '0'
					continue
				}
				digits[i]++
				break
			}
			if i < 0 {
				digits = append([]byte{'1'}, digits...)
			}
			intPart, frac = string(digits[:len(digits)-places]), string(digits[len(digits)-places:])
		}
	}
	if trim {
		frac = strings.TrimRight(frac, "0")
	} else if len(frac) < places {
		frac += strings.Repeat("0", places-len(frac))
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}

// russianNumber turns decimal text from decimalText into the Russian
// form: NBSP between thousands, comma before the fraction.
func russianNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte(',')
		b.WriteString(frac)
	}
	return b.String()
}
