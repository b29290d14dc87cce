package bitrix

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Array is a PHP array, the one structure Bitrix24 takes parameters in and
// answers with: keys in insertion order, each mapping to a string, a
// json.Number, a bool, nil or another *Array. Integer keys are kept as
// their decimal text. It encodes to JSON the way PHP's json_encode does:
// as a list when its keys are 0, 1, … in order (an empty array is []),
// otherwise as an object.
type Array struct {
	// keys may hold dead entries left by Delete: keys[i] is live when
	// pos[keys[i]] == i. They are compacted away before keys are read, so
	// that deleting stays O(1) however large the array.
	keys []string
	pos  map[string]int
	vals map[string]any
	dead int
	next int64 // the key append uses: one more than the largest integer key
}

// NewArray returns an empty array.
func NewArray() *Array { return &Array{pos: map[string]int{}, vals: map[string]any{}} }

func (a *Array) compact() {
	if a.dead == 0 {
		return
	}
	live := a.keys[:0]
	for i, k := range a.keys {
		if p, ok := a.pos[k]; ok && p == i {
			a.pos[k] = len(live)
			live = append(live, k)
		}
	}
	clear(a.keys[len(live):])
	a.keys, a.dead = live, 0
}

// List returns an array holding vs under the keys 0, 1, ….
func List(vs ...any) *Array {
	a := NewArray()
	for _, v := range vs {
		a.Append(v)
	}
	return a
}

// Len is the number of keys.
func (a *Array) Len() int {
	if a == nil {
		return 0
	}
	return len(a.vals)
}

// Keys returns the keys in order.
func (a *Array) Keys() []string {
	if a == nil {
		return nil
	}
	a.compact()
	return a.keys
}

// Get returns the value of key k.
func (a *Array) Get(k string) (any, bool) {
	if a == nil {
		return nil, false
	}
	v, ok := a.vals[k]
	return v, ok
}

// Set stores v under k; an existing key keeps its place.
func (a *Array) Set(k string, v any) *Array {
	if _, ok := a.vals[k]; !ok {
		a.pos[k] = len(a.keys)
		a.keys = append(a.keys, k)
		if n, ok := intKey(k); ok && n >= a.next {
			a.next = n + 1
		}
	}
	a.vals[k] = v
	return a
}

// Append stores v under the next integer key, as PHP's $a[] = v.
func (a *Array) Append(v any) {
	a.Set(strconv.FormatInt(a.next, 10), v)
}

// Delete removes key k.
func (a *Array) Delete(k string) {
	if _, ok := a.vals[k]; !ok {
		return
	}
	delete(a.vals, k)
	delete(a.pos, k)
	a.dead++
}

// Values returns the values in key order.
func (a *Array) Values() []any {
	if a == nil {
		return nil
	}
	a.compact()
	out := make([]any, len(a.keys))
	for i, k := range a.keys {
		out[i] = a.vals[k]
	}
	return out
}

// IsList reports whether the keys are 0, 1, … in order.
func (a *Array) IsList() bool {
	for i, k := range a.Keys() {
		if k != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

// intKey reports whether k is a key PHP would store as an integer: a
// decimal without leading zeros or plus sign that fits in 64 bits.
func intKey(k string) (int64, bool) {
	if k == "" || len(k) > 20 {
		return 0, false
	}
	s := k
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" || (s[0] == '0' && len(s) > 1) || (k[0] == '-' && s == "0") {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(k, 10, 64)
	return n, err == nil
}

// MarshalJSON encodes a as PHP's json_encode would.
func (a *Array) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if a == nil || a.IsList() {
		b.WriteByte('[')
		for i, k := range a.Keys() {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(&b, a.vals[k]); err != nil {
				return nil, err
			}
		}
		b.WriteByte(']')
		return b.Bytes(), nil
	}
	b.WriteByte('{')
	for i, k := range a.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeJSON(&b, k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSON(&b, a.vals[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSON encodes v without escaping <, > and & (answers are not HTML).
func writeJSON(b *bytes.Buffer, v any) error {
	if a, ok := v.(*Array); ok {
		j, err := a.MarshalJSON()
		if err != nil {
			return err
		}
		b.Write(j)
		return nil
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// Lookup follows a path of keys through nested arrays.
func (a *Array) Lookup(path ...string) (any, bool) {
	var cur any = a
	for _, k := range path {
		arr, ok := cur.(*Array)
		if !ok {
			return nil, false
		}
		if cur, ok = arr.Get(k); !ok {
			return nil, false
		}
	}
	return cur, true
}
