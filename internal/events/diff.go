package events

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// diffFields compares two values of one struct type field by field: a
// field the same in both (reflect.DeepEqual, or the same JSON) is left
// out, and only a field that differs is encoded. It gives what the JSON
// path of Diff gives — the same keys, the same old and new texts — for a
// fraction of the work: an update changes a field or two of a record of
// forty, and it runs inside the write (on SQLite, the single writer).
// ok is false for what it does not handle (the JSON path then does).
func diffFields(old, cur any) (map[string]Change, bool, error) {
	va, vb := reflect.ValueOf(old), reflect.ValueOf(cur)
	for va.Kind() == reflect.Pointer && vb.Kind() == reflect.Pointer {
		if va.IsNil() || vb.IsNil() {
			return nil, false, nil
		}
		va, vb = va.Elem(), vb.Elem()
	}
	if va.Kind() != reflect.Struct || va.Type() != vb.Type() {
		return nil, false, nil
	}
	fields, ok := structFields(va.Type())
	if !ok {
		return nil, false, nil
	}
	// Addressable copies, so that a field encodes as it would inside its
	// struct (a MarshalJSON with a pointer receiver included).
	ca, cb := reflect.New(va.Type()).Elem(), reflect.New(vb.Type()).Elem()
	ca.Set(va)
	cb.Set(vb)
	out := map[string]Change{}
	for _, f := range fields {
		if ignored[f.name] {
			continue
		}
		fa, fb := ca.FieldByIndex(f.index), cb.FieldByIndex(f.index)
		absentA, absentB := f.omitEmpty && emptyValue(fa), f.omitEmpty && emptyValue(fb)
		if absentA && absentB {
			continue
		}
		if !absentA && !absentB && reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			continue
		}
		ja, jb := null, null
		var err error
		if !absentA {
			if ja, err = json.Marshal(fa.Addr().Interface()); err != nil {
				return nil, false, err
			}
		}
		if !absentB {
			if jb, err = json.Marshal(fb.Addr().Interface()); err != nil {
				return nil, false, err
			}
		}
		if !bytes.Equal(ja, jb) {
			out[f.name] = Change{Old: ja, New: jb}
		}
	}
	return out, true, nil
}

type jsonField struct {
	name      string
	index     []int
	omitEmpty bool
}

var fieldCache sync.Map // reflect.Type → []jsonField (nil: not handled)

// structFields lists a struct type's JSON fields as encoding/json names
// them, embedded structs flattened. A type with its own MarshalJSON, a
// ",string" option or two fields of one name is left to the JSON path.
func structFields(t reflect.Type) ([]jsonField, bool) {
	if v, ok := fieldCache.Load(t); ok {
		fs := v.([]jsonField)
		return fs, fs != nil
	}
	fs, ok := collectFields(t, nil)
	if ok {
		seen := map[string]bool{}
		for _, f := range fs {
			if seen[f.name] {
				ok = false
				break
			}
			seen[f.name] = true
		}
	}
	if !ok {
		fs = nil
	}
	fieldCache.Store(t, fs)
	return fs, ok
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

func collectFields(t reflect.Type, index []int) ([]jsonField, bool) {
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return nil, false
	}
	var out []jsonField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int{}, index...), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				return nil, false // embedded pointers: the JSON path
			}
			if ft.Kind() == reflect.Struct {
				sub, ok := collectFields(ft, idx)
				if !ok {
					return nil, false
				}
				out = append(out, sub...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if strings.Contains(opts, "string") || strings.Contains(opts, "omitzero") {
			return nil, false
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, jsonField{name: name, index: idx, omitEmpty: strings.Contains(opts, "omitempty")})
	}
	return out, true
}

// emptyValue is encoding/json's omitempty test.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
