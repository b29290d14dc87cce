package automation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Spec is what Define needs besides the action's function.
type Spec struct {
	Name  string
	Group string
	// Writes, Duplicates, Entity and FreeInput: see Description.
	Writes     bool
	Duplicates []string
	Entity     string
	FreeInput  bool
	// Connection is the type of saved connection (internal/connection)
	// a step of the action refers to by its "connection" id.
	Connection string
	// Exports: see Description.
	Exports string
}

// Func is an action's typed work.
type Func[In, Out any] func(ctx context.Context, c *Call, in In) (Out, error)

// Define makes an Action of a typed function. Its input and output fields
// are read from In and Out: the JSON names, types from the Go types, and
// the tag `auto:"required"`, `auto:"enum=a|b"`, `auto:"type=date"` (a
// string holding a date), `auto:"secret"` (a password or token). Labels come from the message files when the
// action is registered.
func Define[In, Out any](spec Spec, run Func[In, Out]) Action {
	var in In
	var out Out
	d := Description{Name: spec.Name, Group: spec.Group, Writes: spec.Writes, Duplicates: spec.Duplicates,
		Entity: spec.Entity, FreeInput: spec.FreeInput, Connection: spec.Connection, Exports: spec.Exports,
		Input: fieldsOf(reflect.TypeOf(in)), Output: fieldsOf(reflect.TypeOf(out))}
	return &typed[In, Out]{desc: d, run: run}
}

type typed[In, Out any] struct {
	desc Description
	run  Func[In, Out]
}

func (a *typed[In, Out]) Describe() Description { return a.desc }

func (a *typed[In, Out]) Run(ctx context.Context, c *Call, input any) (any, error) {
	in, err := DecodeInput[In](input, a.desc)
	if err != nil {
		return nil, err
	}
	out, err := a.run(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return ToValue(out)
}

// DecodeInput turns a rendered input into In: a field of the wrong type,
// an unknown field (unless the description says FreeInput) or a missing
// required one is an InputError naming it.
func DecodeInput[In any](input any, d Description) (In, error) {
	var in In
	if input == nil {
		input = map[string]any{}
	}
	if m, ok := input.(map[string]any); ok {
		for _, f := range d.Input {
			if f.Required && isEmptyValue(m[f.Name]) {
				return in, InputErrorf(f.Name, "required")
			}
		}
	}
	b, err := json.Marshal(input)
	if err != nil {
		return in, InputErrorf("", "input: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if !d.FreeInput {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&in); err != nil {
		return in, inputJSONError(err)
	}
	return in, nil
}

// inputJSONError names the field encoding/json found at fault.
func inputJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return InputErrorf(te.Field, "%s is not %s", describeJSONValue(te.Value), jsonTypeName(te.Type))
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return InputErrorf(strings.Trim(f, `"`), "unknown field")
	}
	return InputErrorf("", "%s", strings.TrimPrefix(msg, "json: "))
}

func describeJSONValue(v string) string {
	switch v {
	case "string", "number", "bool", "array", "object":
		return "a " + v
	}
	return v
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// ToValue turns a Go value into the JSON-like form steps and templates
// use (maps, lists, strings, int64, float64, bool, nil).
func ToValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("automation: encode output: %w", err)
	}
	return DecodeValue(b)
}

// DecodeValue decodes JSON into the JSON-like form, integral numbers as
// int64.
func DecodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("automation: decode value: %w", err)
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	marshalerType = reflect.TypeFor[json.Marshaler]()
)

// fieldsOf describes the JSON fields of a struct type.
func fieldsOf(t reflect.Type) []Field {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct || t == timeType {
		return nil
	}
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		_ = opts
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" {
			out = append(out, fieldsOf(sf.Type)...)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		tag := sf.Tag.Get("auto")
		if tag == "-" {
			continue
		}
		f := fieldOf(name, sf.Type)
		for _, o := range strings.Split(tag, ",") {
			switch {
			case o == "required":
				f.Required = true
			case o == "secret":
				f.Secret = true
			case strings.HasPrefix(o, "enum="):
				f.Enum = strings.Split(strings.TrimPrefix(o, "enum="), "|")
			case strings.HasPrefix(o, "type="):
				f.Type = strings.TrimPrefix(o, "type=")
			}
		}
		out = append(out, f)
	}
	return out
}

func fieldOf(name string, t reflect.Type) Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	f := Field{Name: name}
	switch {
	case t == timeType:
		f.Type = "datetime"
	case t.Kind() != reflect.Struct && t.Implements(marshalerType):
		// A type with its own JSON form (the CRM's fixed-point amounts
		// are integers in Go, numbers in JSON): described by what it
		// writes.
		f.Type = "any"
		if b, err := json.Marshal(reflect.Zero(t).Interface()); err == nil && len(b) > 0 {
			switch c := b[0]; {
			case c == '"':
				f.Type = "string"
			case c == '-' || (c >= '0' && c <= '9'):
				f.Type = "number"
			case c == 't' || c == 'f':
				f.Type = "boolean"
			}
		}
	case t.Name() == "Decimal":
		f.Type = "decimal"
	case t.Kind() == reflect.String:
		f.Type = "string"
	case t.Kind() == reflect.Bool:
		f.Type = "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		f.Type = "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f.Type = "number"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		f.Type = "any" // json.RawMessage
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		f.Type = "list"
		item := fieldOf("", t.Elem())
		f.Item = &item
	case t.Kind() == reflect.Struct:
		f.Type = "object"
		f.Fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		f.Type = "object"
	default:
		f.Type = "any"
	}
	return f
}
