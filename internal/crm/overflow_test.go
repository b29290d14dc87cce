package crm

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAmountsNeverWrap: amounts and quantities are bounded where they are
// read, price × quantity and the sum of rows are checked, so no computed
// money wraps around int64 (9e15 × 1005 once stored a wrapped sum; two rows
// of 9e16 made a negative opportunity).
func TestAmountsNeverWrap(t *testing.T) {
	for _, in := range []string{`"9000000000000000"`, `90000000000000000`, `"-10000000000000.01"`, `9223372036854775807`} {
		var a Amount
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("amount %s accepted as %s", in, a)
		}
	}
	if _, err := ParseAmount("10000000000000.00"); err != nil {
		t.Errorf("the largest amount is refused: %v", err)
	}
	if _, err := ParseQuantity("1000000000.001"); err == nil {
		t.Error("a quantity beyond the bound is accepted")
	}
	for _, tc := range []struct {
		name  string
		rows  []LineItem
		field string
	}{
		{"price × quantity", []LineItem{{Name: "x", Price: MaxAmount, Quantity: 1005}}, "items[0].quantity"},
		{"quantity", []LineItem{{Name: "x", Price: 1, Quantity: MaxQuantity + 1}}, "items[0].quantity"},
		{"price", []LineItem{{Name: "x", Price: MaxAmount + 1, Quantity: 1000}}, "items[0].price"},
		{"two rows", []LineItem{{Name: "a", Price: MaxAmount, Quantity: 1000}, {Name: "b", Price: MaxAmount, Quantity: 1000}}, "items"},
	} {
		_, err := ComputeItems("items", tc.rows)
		fe, ok := AsFieldError(err)
		if !ok || fe.Field != tc.field {
			t.Errorf("%s: %v, want a refusal of %s", tc.name, err, tc.field)
		}
	}
	tot, err := ComputeItems("items", []LineItem{{Name: "a", Price: MaxAmount / 2, Quantity: 1000}, {Name: "b", Price: MaxAmount / 2, Quantity: 1000}})
	if err != nil || tot.Total != MaxAmount {
		t.Errorf("rows up to the bound: %+v %v", tot, err)
	}
	if _, ok := MulDiv(int64(MaxAmount), 1_000_000, 1); ok {
		t.Error("MulDiv beyond the bound is ok")
	}
	if !strings.Contains(MaxAmount.String(), "10000000000000") {
		t.Errorf("MaxAmount = %s", MaxAmount)
	}
}
