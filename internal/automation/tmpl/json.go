package tmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"time"
)

// FromJSON decodes JSON into the values expressions see: objects as
// map[string]any, arrays as []any, integral numbers within int64 as int64
// (so {{trigger.record.id}} renders 5, not 5.0), other numbers as float64.
func FromJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("tmpl: json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("tmpl: json: unexpected data after the value")
	}
	return normalizer{strict: true}.normalize(v, 0)
}

// Normalize returns v with the number conversion of FromJSON applied
// throughout: json.Number and integral float64 become int64 when they fit,
// other Go integer and float kinds become int64 and float64, and typed
// slices and maps become []any and map[string]any. Containers are copied,
// never modified; values of other types are returned as they are.
func Normalize(v any) any {
	out, _ := normalizer{}.normalize(v, 0)
	return out
}

// normalizer converts values for Normalize (lenient: what cannot be
// converted is kept), FromJSON and render results (strict: a number out
// of range or a value of an unsupported type is an error). With a run,
// every value costs about the bytes it allocates: a result can be a DAG
// built by reduce, exponentially larger as a tree.
type normalizer struct {
	r      *run
	strict bool
}

// normalize returns a render result in JSON-like form.
func normalize(v any, r *run) (any, error) {
	return normalizer{r: r, strict: true}.normalize(v, 0)
}

func (nz normalizer) normalize(v any, depth int) (any, error) {
	if depth > MaxDepth {
		if nz.strict {
			return nil, errTooDeep
		}
		return v, nil
	}
	if r := nz.r; r != nil {
		if err := r.charge(nodeCost); err != nil {
			return nil, err
		}
	}
	switch x := v.(type) {
	case nil, string, bool, int64, time.Time:
		return v, nil
	case float64:
		return normFloat(x), nil
	case int:
		return int64(x), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			if nz.strict {
				return nil, fmt.Errorf("number %s is out of range", truncate(string(x), 32))
			}
			return string(x), nil
		}
		return normFloat(f), nil
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			n, err := nz.normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = n
		}
		return m, nil
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			n, err := nz.normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = n
		}
		return l, nil
	case []byte:
		return string(x), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return float64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return normFloat(rv.Float()), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Slice, reflect.Array:
		l := make([]any, rv.Len())
		for i := range l {
			n, err := nz.normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = n
		}
		return l, nil
	case reflect.Map:
		m := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			n, err := nz.normalize(it.Value().Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			// groupBy makes maps keyed by any value; JSON keys are text.
			m[plainText(it.Key().Interface())] = n
		}
		return m, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
	}
	if nz.strict {
		return nil, fmt.Errorf("unsupported value of type %T", v)
	}
	return v, nil
}

// MaxDepth is how deeply lists and maps may nest in values that are
// converted or written out. CRM data nests a few levels; a deeper value
// was built on purpose (reduce(1..100000, [#acc], 1)) and would cost a
// deep recursion.
const MaxDepth = 1000

var errTooDeep = limitError(fmt.Sprintf("value nested deeper than %d levels", MaxDepth))

// normFloat turns an integral float64 within int64 into int64. -0 becomes 0.
func normFloat(f float64) any {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return f
}
