package crm

import (
	"fmt"
	"math/big"
	"strings"
)

// LineItem is a product row of a lead or deal, or a line of a sales order
// or invoice: a product, a service or a free name, with price, quantity,
// discount and VAT. Sum and Tax are computed, in minor units.
type LineItem struct {
	ID        int64 `json:"id,omitempty"`
	ProductID int64 `json:"product_id"`
	ServiceID int64 `json:"service_id"`
	// VariantID names a variant of the product (its characteristics:
	// size, colour…); 0 for the product itself.
	VariantID    int64          `json:"variant_id"`
	Name         string         `json:"name"`
	Price        Amount         `json:"price"`
	Quantity     Quantity       `json:"quantity"`
	Unit         string         `json:"unit"`
	DiscountRate Amount         `json:"discount_rate"`
	Discount     Amount         `json:"discount"`
	VATRate      *Amount        `json:"vat_rate"`
	VATIncluded  bool           `json:"vat_included"`
	Sum          Amount         `json:"sum"`
	Tax          Amount         `json:"tax"`
	Properties   map[string]any `json:"properties"`
}

// Totals of a document, in minor units: Subtotal before discounts, the
// discounts, the VAT inside or on top, and the Total to pay.
type Totals struct {
	Subtotal Amount `json:"subtotal"`
	Discount Amount `json:"discount"`
	Tax      Amount `json:"tax"`
	Total    Amount `json:"total"`
}

// MulDiv is a*b/d rounded half away from zero; ok is false when the
// result is beyond MaxAmount (it is then not to be stored).
func MulDiv(a, b, d int64) (int64, bool) {
	v, ok := mulDivBig(a, b, d)
	return v, ok && v <= int64(MaxAmount) && v >= -int64(MaxAmount)
}

// mulDiv computes a*b/d rounded half away from zero; callers check the
// result's range (MulDiv) where the inputs are not already bounded.
func mulDiv(a, b, d int64) int64 {
	v, _ := mulDivBig(a, b, d)
	return v
}

func mulDivBig(a, b, d int64) (int64, bool) {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	den := big.NewInt(d)
	q, r := new(big.Int).QuoRem(n, den, new(big.Int))
	r2 := new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2))
	if r2.Cmp(new(big.Int).Abs(den)) >= 0 {
		if n.Sign()*den.Sign() >= 0 {
			q.Add(q, big.NewInt(1))
		} else {
			q.Sub(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// Compute validates the row and fills Discount (from DiscountRate when
// that is set), Tax and Sum.
func (li *LineItem) Compute() error {
	li.Name = strings.TrimSpace(li.Name)
	li.Unit = strings.TrimSpace(li.Unit)
	if li.Name == "" && li.ProductID == 0 && li.ServiceID == 0 && li.VariantID == 0 {
		return Invalid("name", "required when neither product_id nor service_id is given")
	}
	if li.ProductID != 0 && li.ServiceID != 0 {
		return Invalid("service_id", "a row is either a product or a service, not both")
	}
	if li.ProductID < 0 || li.ServiceID < 0 {
		return Invalid("product_id", "must not be negative")
	}
	if li.VariantID < 0 {
		return Invalid("variant_id", "must not be negative")
	}
	if li.VariantID != 0 && li.ServiceID != 0 {
		return Invalid("variant_id", "a service has no variants")
	}
	if err := checkLen("name", li.Name, 500); err != nil {
		return err
	}
	if li.Price < 0 {
		return Invalid("price", "must not be negative")
	}
	if li.Price > MaxAmount {
		return Invalid("price", "must be at most %s", MaxAmount)
	}
	if li.Quantity <= 0 {
		return Invalid("quantity", "must be greater than zero")
	}
	if li.Quantity > MaxQuantity {
		return Invalid("quantity", "must be at most %s", MaxQuantity)
	}
	if li.DiscountRate < 0 || li.DiscountRate > 10000 {
		return Invalid("discount_rate", "must be between 0 and 100")
	}
	if li.VATRate != nil && (*li.VATRate < 0 || *li.VATRate > 10000) {
		return Invalid("vat_rate", "must be between 0 and 100")
	}
	gross, ok := MulDiv(int64(li.Price), int64(li.Quantity), 1000)
	if !ok {
		return Invalid("quantity", "price × quantity is beyond %s", MaxAmount)
	}
	if li.DiscountRate != 0 {
		li.Discount = Amount(mulDiv(gross, int64(li.DiscountRate), 10000))
	}
	if li.Discount < 0 || int64(li.Discount) > gross {
		return Invalid("discount", "must be between 0 and the row's amount %s", Amount(gross))
	}
	net := gross - int64(li.Discount)
	li.Tax = 0
	li.Sum = Amount(net)
	if li.VATRate != nil && *li.VATRate > 0 {
		r := int64(*li.VATRate)
		if li.VATIncluded {
			li.Tax = Amount(mulDiv(net, r, 10000+r))
		} else {
			li.Tax = Amount(mulDiv(net, r, 10000))
			li.Sum = Amount(net) + li.Tax
		}
	}
	if li.Properties == nil {
		li.Properties = map[string]any{}
	}
	return nil
}

// ComputeItems validates and computes every row and returns the totals.
// field names the list in errors ("product_rows", "items").
func ComputeItems(field string, items []LineItem) (Totals, error) {
	var t Totals
	for i := range items {
		if err := items[i].Compute(); err != nil {
			return Totals{}, Prefixed(fmt.Sprintf("%s[%d]", field, i), err)
		}
		li := items[i]
		// Each row is within MaxAmount, so the sums cannot wrap before
		// they are checked.
		t.Subtotal += Amount(mulDiv(int64(li.Price), int64(li.Quantity), 1000))
		t.Discount += li.Discount
		t.Tax += li.Tax
		t.Total += li.Sum
		if t.Subtotal > MaxAmount || t.Total > MaxAmount {
			return Totals{}, Invalid(field, "the rows add up to more than %s", MaxAmount)
		}
	}
	return t, nil
}
