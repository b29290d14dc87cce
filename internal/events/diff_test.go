package events_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// Diff's field-by-field path gives exactly what comparing the records'
// whole JSON gives, on the CRM's own record types with random values and
// random changes.
func TestDiffFieldsMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []any{crm.Lead{}, crm.Contact{}, crm.Account{}, crm.Deal{}, crm.SalesOrder{}, crm.Invoice{}, crm.Product{},
		crm.Service{}, crm.Activity{}, crm.Ticket{}, crm.Catalog{}}
	for _, proto := range types {
		typ := reflect.TypeOf(proto)
		for i := 0; i < 300; i++ {
			old := reflect.New(typ).Elem()
			fill(rng, old, 0.6)
			cur := reflect.New(typ).Elem()
			cur.Set(old)
			// Change a few fields, sometimes none; sometimes to the same value.
			mutate(rng, cur, rng.IntN(4))
			a, b := old.Interface(), cur.Interface()
			fast, err := events.Diff(a, b)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := events.DiffJSON(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if !sameChanges(fast, slow) {
				fb, _ := json.Marshal(fast)
				sb, _ := json.Marshal(slow)
				t.Fatalf("%s #%d:\n fields %s\n   JSON %s", typ, i, fb, sb)
			}
		}
	}
}

func sameChanges(a, b map[string]events.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || string(x.Old) != string(y.Old) || string(x.New) != string(y.New) {
			return false
		}
	}
	return true
}

var words = []string{"", "Иван", "ООО «Ромашка»", "a<b>&c", "  ", "x", "+7 925 642-42-90", "2026-12-05"}

// fill gives v random values, each field set with probability p.
func fill(rng *rand.Rand, v reflect.Value, p float64) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(rng.Int64N(2e9), rng.Int64N(1e9)).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && (v.Type().Field(i).Anonymous || rng.Float64() < p) {
				fill(rng, v.Field(i), p)
			}
		}
	case reflect.String:
		v.SetString(words[rng.IntN(len(words))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rng.Int64N(5) * int64(rng.IntN(2)) * 1000)
	case reflect.Float64, reflect.Float32:
		v.SetFloat(float64(rng.IntN(3)) / 2)
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		n := reflect.New(v.Type().Elem())
		fill(rng, n.Elem(), p)
		v.Set(n)
	case reflect.Slice:
		n := rng.IntN(3)
		if n == 0 && rng.IntN(2) == 0 {
			v.Set(reflect.Zero(v.Type())) // nil
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(rng, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Map:
		if rng.IntN(2) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(3) {
			k := reflect.New(v.Type().Key()).Elem()
			fill(rng, k, 1)
			e := reflect.New(v.Type().Elem()).Elem()
			if e.Kind() == reflect.Interface {
				e.Set(reflect.ValueOf(words[rng.IntN(len(words))]))
			} else {
				fill(rng, e, 1)
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Interface:
		if rng.IntN(2) == 0 {
			v.Set(reflect.ValueOf(rng.IntN(10)))
		}
	}
}

// mutate changes n random top-level fields (or fields of embedded
// structs), some to a value equal to the old one.
func mutate(rng *rand.Rand, v reflect.Value, n int) {
	var leaves []reflect.Value
	var walk func(reflect.Value)
	walk = func(s reflect.Value) {
		for i := range s.NumField() {
			f := s.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(s.Field(i))
				continue
			}
			leaves = append(leaves, s.Field(i))
		}
	}
	walk(v)
	for range n {
		f := leaves[rng.IntN(len(leaves))]
		if rng.IntN(4) == 0 {
			f.Set(reflect.ValueOf(reflect.ValueOf(f.Interface()).Interface()).Convert(f.Type())) // same value
			continue
		}
		fill(rng, f, 0.7)
	}
}
