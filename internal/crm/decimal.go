package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Amount is a decimal with two fractional digits held as an integer number
// of hundredths: money in minor units (kopecks), percentages and rates. It
// never passes through a float: JSON numbers and strings are parsed as
// decimal text.
type Amount int64

// Quantity is a decimal with three fractional digits (thousandths): 1.5 kg
// is Quantity(1500).
type Quantity int64

// MaxAmount bounds every amount Obmen takes in: ten trillion (10^13) in
// major units. Price × quantity and the sums of rows are checked against
// it too, so no computed money ever wraps around int64.
const MaxAmount Amount = 1_000_000_000_000_000

// MaxQuantity bounds a quantity: one billion (10^9) units.
const MaxQuantity Quantity = 1_000_000_000_000

// ErrDecimal is wrapped by every decimal parse failure.
var ErrDecimal = errors.New("not a decimal number")

// parseFixed parses decimal text such as "-1234.5" into an integer scaled
// by 10^scale, refusing more fractional digits than the scale holds.
func parseFixed(s string, scale int) (int64, error) {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, " ", "")
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrDecimal)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !hasDot {
		intPart, frac, hasDot = strings.Cut(s, ",")
	}
	if intPart == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%w: %q", ErrDecimal, s)
	}
	if strings.ContainsAny(s, "eE") {
		return 0, fmt.Errorf("%w: %q: exponents are not accepted", ErrDecimal, s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return 0, fmt.Errorf("%w: %q has more than %d decimal places", ErrDecimal, s, scale)
	}
	var v int64
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrDecimal, s)
		}
		if v > (math.MaxInt64-9)/10 {
			return 0, fmt.Errorf("%w: %q is too large", ErrDecimal, s)
		}
		v = v*10 + int64(c-'0')
	}
	for i := 0; i < scale; i++ {
		d := int64(0)
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%w: %q", ErrDecimal, s)
			}
			d = int64(c - '0')
		}
		if v > (math.MaxInt64-9)/10 {
			return 0, fmt.Errorf("%w: %q is too large", ErrDecimal, s)
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, nil
}

func formatFixed(v int64, scale int, minFrac int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	p := uint64(1)
	for i := 0; i < scale; i++ {
		p *= 10
	}
	ip, fp := u/p, u%p
	fs := fmt.Sprintf("%0*d", scale, fp)
	fs = strings.TrimRight(fs, "0")
	for len(fs) < minFrac {
		fs += "0"
	}
	s := strconv.FormatUint(ip, 10)
	if fs != "" {
		s += "." + fs
	}
	if neg {
		s = "-" + s
	}
	return s
}

// decimalError is returned from UnmarshalJSON as a type error, so that
// encoding/json adds the name of the field at fault.
func decimalError(b []byte, t reflect.Type, err error) error {
	return &json.UnmarshalTypeError{Value: strings.TrimPrefix(err.Error(), ErrDecimal.Error()+": "), Type: t}
}

func unmarshalFixed(b []byte, scale int) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		return parseFixed(s, scale)
	}
	if bytes.Equal(b, []byte("null")) {
		return 0, nil
	}
	return parseFixed(string(b), scale)
}

// ParseAmount parses decimal text with at most two fractional digits.
func ParseAmount(s string) (Amount, error) {
	v, err := parseFixed(s, 2)
	if err == nil {
		err = boundAmount(v)
	}
	return Amount(v), err
}

func boundAmount(v int64) error {
	if v > int64(MaxAmount) || v < -int64(MaxAmount) {
		return fmt.Errorf("%w: %s is beyond ±%s", ErrDecimal, formatFixed(v, 2, 0), formatFixed(int64(MaxAmount), 2, 0))
	}
	return nil
}

func boundQuantity(v int64) error {
	if v > int64(MaxQuantity) || v < -int64(MaxQuantity) {
		return fmt.Errorf("%w: %s is beyond ±%s", ErrDecimal, formatFixed(v, 3, 0), formatFixed(int64(MaxQuantity), 3, 0))
	}
	return nil
}

// String formats a as decimal text with two fractional digits ("1234.50").
func (a Amount) String() string { return formatFixed(int64(a), 2, 2) }

// MarshalJSON writes a as a JSON number with two fractional digits.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON accepts a JSON number or a string holding one.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, err := unmarshalFixed(b, 2)
	if err == nil {
		err = boundAmount(v)
	}
	if err != nil {
		return decimalError(b, reflect.TypeOf(*a), err)
	}
	*a = Amount(v)
	return nil
}

// ParseQuantity parses decimal text with at most three fractional digits.
func ParseQuantity(s string) (Quantity, error) {
	v, err := parseFixed(s, 3)
	if err == nil {
		err = boundQuantity(v)
	}
	return Quantity(v), err
}

// String formats q without trailing zeros ("2", "1.5").
func (q Quantity) String() string { return formatFixed(int64(q), 3, 0) }

// MarshalJSON writes q as a JSON number.
func (q Quantity) MarshalJSON() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalJSON accepts a JSON number or a string holding one.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	v, err := unmarshalFixed(b, 3)
	if err == nil {
		err = boundQuantity(v)
	}
	if err != nil {
		return decimalError(b, reflect.TypeOf(*q), err)
	}
	*q = Quantity(v)
	return nil
}
