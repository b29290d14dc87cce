package tmpl

import (
	"fmt"
	"reflect"
	"unicode/utf8"
)

// fnGet is member and index access (see rewrite): maps by key, lists by
// position (negative from the end). Everything else — nil, a missing key,
// a position out of range, a key of the wrong kind, a member of text or a
// number — is nil. Go struct fields and methods are never reached.
func fnGet(_ *run, args []any) (any, error) {
	base, key := args[0], args[1]
	switch b := base.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			if s, isScalar := scalarText(key); isScalar && key != nil {
				k = s // m[5] reads the key "5", as JSON object keys are text
			} else {
				return nil, nil
			}
		}
		return b[k], nil
	case []any:
		i, ok := index(key, len(b))
		if !ok {
			return nil, nil
		}
		return b[i], nil
	}
	rv := reflect.ValueOf(base)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if _, isBytes := base.([]byte); isBytes {
			return nil, nil
		}
		i, ok := index(key, rv.Len())
		if !ok {
			return nil, nil
		}
		return rv.Index(i).Interface(), nil
	case reflect.Map:
		kv := reflect.ValueOf(key)
		if !kv.IsValid() || !kv.Type().AssignableTo(rv.Type().Key()) {
			return nil, nil
		}
		v := rv.MapIndex(kv)
		if !v.IsValid() {
			return nil, nil
		}
		return v.Interface(), nil
	}
	return nil, nil
}

// index turns a key into a position in a list of n items.
func index(key any, n int) (int, bool) {
	num, ok := toNumber(key)
	if _, isText := key.(string); isText || !ok || !num.isInt {
		return 0, false
	}
	i := num.i
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// fnSlice is a[i:j]: clipped to the bounds, counted in runes for text
// (so a slice never cuts a letter in half), nil for nil.
func fnSlice(r *run, args []any) (any, error) {
	base, from, to := args[0], args[1], args[2]
	if base == nil {
		return nil, nil
	}
	if s, ok := base.(string); ok {
		if err := r.charge(len(s)); err != nil {
			return nil, err
		}
		n := utf8.RuneCountInString(s)
		i, j, err := bounds(from, to, n)
		if err != nil {
			return nil, err
		}
		return runeSlice(s, i, j), nil
	}
	if !isList(base) {
		return nil, fmt.Errorf("cannot slice %s", kindName(base))
	}
	rv := reflect.ValueOf(base)
	i, j, err := bounds(from, to, rv.Len())
	if err != nil {
		return nil, err
	}
	return rv.Slice(i, j).Interface(), nil
}

// bounds resolves slice bounds as Python and expr do: negative from the
// end, clipped to [0, n], empty when crossed.
func bounds(from, to any, n int) (int, int, error) {
	resolve := func(v any, def int) (int, error) {
		if v == nil {
			return def, nil
		}
		num, ok := toNumber(v)
		if _, isText := v.(string); isText || !ok || !num.isInt {
			return 0, fmt.Errorf("slice bound must be a whole number, got %s", quoteValue(v))
		}
		i := num.i
		if i < 0 {
			i += int64(n)
		}
		return int(max(0, min(i, int64(n)))), nil
	}
	i, err := resolve(from, 0)
	if err != nil {
		return 0, 0, err
	}
	j, err := resolve(to, n)
	if err != nil {
		return 0, 0, err
	}
	return i, max(i, j), nil
}

// runeSlice returns runes [i, j) of s; i <= j.
func runeSlice(s string, i, j int) string {
	start, end, k := len(s), len(s), 0
	for off := range s {
		if k == i {
			start = off
		}
		if k == j {
			end = off
			break
		}
		k++
	}
	return s[start:end]
}

func isList(v any) bool {
	switch v.(type) {
	case []any:
		return true
	case nil, string, []byte:
		return false
	}
	k := reflect.ValueOf(v).Kind()
	return k == reflect.Slice || k == reflect.Array
}

func isMap(v any) bool {
	switch v.(type) {
	case map[string]any:
		return true
	case nil, string:
		return false
	}
	return reflect.ValueOf(v).Kind() == reflect.Map
}
