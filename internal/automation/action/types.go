package action

import (
	"reflect"
	"strings"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
)

// The CRM's decimals are integers in Go (kopecks, thousandths) but
// numbers in JSON ("1500.50"), and its dates are text: the generic
// description (automation.Define) sees only the Go kinds, so the fields
// of those types are told here what they are.
var (
	amountType   = reflect.TypeFor[crm.Amount]()
	quantityType = reflect.TypeFor[crm.Quantity]()
)

// dateFields are the CRM's fields that hold a date as YYYY-MM-DD.
var dateFields = map[string]bool{
	"birthdate": true, "begin_date": true, "close_date": true, "order_date": true, "invoice_date": true, "due_date": true,
}

// refine corrects the types of the fields described from t.
func refine(fs []automation.Field, t reflect.Type) {
	types := jsonFields(t)
	for i := range fs {
		if ft, ok := types[fs[i].Name]; ok {
			refineField(&fs[i], ft)
		}
	}
}

func refineField(f *automation.Field, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == amountType || t == quantityType:
		f.Type = "number"
	case f.Type == "string" && dateFields[f.Name]:
		f.Type = "date"
	case t.Kind() == reflect.Struct:
		refine(f.Fields, t)
	case t.Kind() == reflect.Slice && f.Item != nil:
		refineField(f.Item, t.Elem())
	}
}

// jsonFields are the Go types of a struct's JSON fields, those of
// embedded structs included.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]reflect.Type{}
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case sf.Anonymous && name == "":
			for k, v := range jsonFields(sf.Type) {
				out[k] = v
			}
		default:
			if name == "" {
				name = sf.Name
			}
			out[name] = sf.Type
		}
	}
	return out
}
