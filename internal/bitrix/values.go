package bitrix

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/obmen/obmen/internal/crm"
)

// Parameter values arrive as strings (query string, forms) or as JSON
// values; these helpers read them the way Bitrix24's PHP does.

// scalarText returns a scalar parameter as text; ok is false for arrays.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "Y", true
		}
		return "N", true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}

// phpString is a value as PHP's string conversion writes it, for $result
// substitution in batch: true is "1", false and null are "".
func phpString(v any) (string, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return "1", true
		}
		return "", true
	case *Array:
		return "", false
	}
	return scalarText(v)
}

// paramText reads a named scalar parameter ("" when absent).
func (c *call) paramText(name string) (string, error) {
	v, ok := c.params.Get(name)
	if !ok {
		// Bitrix24 reads parameter names without regard to case (id, ID).
		for _, k := range c.params.Keys() {
			if strings.EqualFold(k, name) {
				v, ok = c.params.Get(k)
				break
			}
		}
	}
	if !ok {
		return "", nil
	}
	s, ok := scalarText(v)
	if !ok {
		return "", crmError("Parameter %s must not be an array", name)
	}
	return strings.TrimSpace(s), nil
}

// param returns a named parameter, matched without regard to case.
func (c *call) param(name string) (any, bool) {
	if v, ok := c.params.Get(name); ok {
		return v, true
	}
	for _, k := range c.params.Keys() {
		if strings.EqualFold(k, name) {
			return c.params.Get(k)
		}
	}
	return nil, false
}

// paramArray returns a named parameter that must be an array (nil when
// absent or empty).
func (c *call) paramArray(name string) (*Array, error) {
	v, ok := c.param(name)
	if !ok || v == nil {
		return nil, nil
	}
	if a, ok := v.(*Array); ok {
		return a, nil
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, nil
	}
	return nil, crmError("Parameter %s must be an array", name)
}

// recordID reads the id parameter of get, update and delete.
func (c *call) recordID() (int64, error) {
	s, err := c.paramText("id")
	if err != nil {
		return 0, errBadID
	}
	id, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || id <= 0 {
		return 0, errBadID
	}
	return id, nil
}

// truthy reads a Bitrix24 boolean: true, 1, Y.
func truthy(v any) bool {
	s, _ := scalarText(v)
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "1", "Y", "TRUE", "YES", "ON":
		return true
	}
	return false
}

// parseMoney reads an amount. Bitrix24 keeps money as a double; Obmen in
// hundredths, so more fractional digits are rounded half away from zero.
func parseMoney(field string, v any) (crm.Amount, error) {
	s, ok := scalarText(v)
	if !ok {
		return 0, crmError("Field %s: must be a number", field)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if a, err := crm.ParseAmount(s); err == nil {
		return a, nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), ",", "."), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*100) > float64(crm.MaxAmount) {
		return 0, crmError("Field %s: %q is not a number", field, s)
	}
	return crm.Amount(math.Round(f * 100)), nil
}

// parseInt reads an integer field; "" is 0.
func parseInt(field string, v any) (int64, error) {
	s, ok := scalarText(v)
	if !ok {
		return 0, crmError("Field %s: must be an integer", field)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, crmError("Field %s: %q is not an integer", field, s)
	}
	return n, nil
}

func idText(n int64) any {
	if n == 0 {
		return nil
	}
	return strconv.FormatInt(n, 10)
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// itemsOf returns the items of an array parameter in order; a scalar is
// one item.
func itemsOf(v any) []any {
	if a, ok := v.(*Array); ok {
		return a.Values()
	}
	if v == nil {
		return nil
	}
	return []any{v}
}
