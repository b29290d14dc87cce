package tmpl

import (
	"fmt"
	"reflect"
	"sort"
	"unicode/utf8"
)

// Functions over values of any shape: defaults, conversion to text and
// JSON, sizes, map keys and values.

// fnDefault is default(v, d): d when v is nil, blank text, or an empty
// list or map. 0 and false are values, not blanks.
func fnDefault(_ *run, args []any) (any, error) {
	if err := arity(args, 2, 2); err != nil {
		return nil, err
	}
	if isEmpty(args[0]) {
		return args[1], nil
	}
	return args[0], nil
}

// isEmpty is the "empty" of default() and of the empty operator.
func isEmpty(v any) bool {
	if isBlank(v) {
		return true
	}
	if isList(v) || isMap(v) {
		return reflect.ValueOf(v).Len() == 0
	}
	return false
}

// fnString is string(v): v as it reads inside text (see formatText).
func fnString(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	return textOf(r, args[0])
}

// fnJSON is json(v): compact JSON (see writeJSON).
func fnJSON(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	w := newTextWriter(r)
	if err := writeJSON(w, args[0]); err != nil {
		return nil, err
	}
	return w.String(), nil
}

// fnLen is len(v): letters (runes) of text, items of a list or map, 0 for
// nil — users write len(trigger.record.phones) for records without phones.
func fnLen(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	switch v := args[0].(type) {
	case nil:
		return int64(0), nil
	case string:
		if err := r.charge(len(v)); err != nil { // counting runes reads it all
			return nil, err
		}
		return int64(utf8.RuneCountInString(v)), nil
	}
	if isList(args[0]) || isMap(args[0]) {
		return int64(reflect.ValueOf(args[0]).Len()), nil
	}
	return nil, fmt.Errorf("expected text, a list or an object, got %s", kindName(args[0]))
}

// sortedKeys returns the keys of a map, as text, sorted: expr's keys()
// follows Go's random map order, and a template must render the same
// text every time.
func sortedKeys(r *run, v any) ([]string, error) {
	if !isMap(v) {
		return nil, fmt.Errorf("expected an object, got %s", kindName(v))
	}
	rv := reflect.ValueOf(v)
	if err := r.charge(16 * rv.Len()); err != nil {
		return nil, err
	}
	keys := make([]string, 0, rv.Len())
	for _, k := range rv.MapKeys() {
		keys = append(keys, plainText(k.Interface()))
	}
	sort.Strings(keys)
	return keys, nil
}

// fnKeys is keys(m): sorted. nil gives [].
func fnKeys(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return []any{}, nil
	}
	keys, err := sortedKeys(r, args[0])
	if err != nil {
		return nil, err
	}
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out, nil
}

// fnValues is values(m): in the order of keys(m). nil gives [].
func fnValues(r *run, args []any) (any, error) {
	if err := arity(args, 1, 1); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return []any{}, nil
	}
	if m, ok := args[0].(map[string]any); ok {
		keys, err := sortedKeys(r, m)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = m[k]
		}
		return out, nil
	}
	// Other map types come from groupBy (keyed by any value): sort their
	// entries by the text of the key.
	if !isMap(args[0]) {
		return nil, fmt.Errorf("expected an object, got %s", kindName(args[0]))
	}
	rv := reflect.ValueOf(args[0])
	if err := r.charge(16 * rv.Len()); err != nil {
		return nil, err
	}
	type entry struct {
		key string
		val any
	}
	entries := make([]entry, 0, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		entries = append(entries, entry{plainText(it.Key().Interface()), it.Value().Interface()})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	out := make([]any, len(entries))
	for i, e := range entries {
		out[i] = e.val
	}
	return out, nil
}
