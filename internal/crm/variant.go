package crm

import "strings"

// ProductVariant is a variant of a product: one of 1C's characteristics
// of a good (size, colour…), with its own 1C id, article, price of the
// chosen price type and stock. A product's stock is the sum of its
// variants'.
type ProductVariant struct {
	ID              int64                   `json:"id"`
	ProductID       int64                   `json:"product_id"`
	ID1C            string                  `json:"id_1c"`
	Name            string                  `json:"name"`
	Article         string                  `json:"article"`
	Characteristics []VariantCharacteristic `json:"characteristics"`
	Price           Amount                  `json:"price"`
	Currency        string                  `json:"currency"`
	Stock           Quantity                `json:"stock"`
	Active          bool                    `json:"active"`
}

// VariantCharacteristic is one characteristic of a variant.
type VariantCharacteristic struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ProductPrice is the price of a product (VariantID 0) or of one of its
// variants in one price type.
type ProductPrice struct {
	VariantID int64  `json:"variant_id"`
	PriceType string `json:"price_type"`
	TypeID1C  string `json:"type_id_1c"`
	Price     Amount `json:"price"`
	Currency  string `json:"currency"`
}

// ProductStock is the stock of a product (VariantID 0) or variant in one
// warehouse.
type ProductStock struct {
	VariantID int64    `json:"variant_id"`
	Warehouse string   `json:"warehouse"`
	Quantity  Quantity `json:"quantity"`
}

// ProductOffers is what a product offers beyond its own price and stock.
type ProductOffers struct {
	Variants []ProductVariant `json:"variants"`
	Prices   []ProductPrice   `json:"prices"`
	Stocks   []ProductStock   `json:"stocks"`
}

// CharacteristicsText is the variant's characteristics as one line
// ("Цвет: красный; Размер: XL"), or its name when it has none.
func (v ProductVariant) CharacteristicsText() string {
	parts := make([]string, 0, len(v.Characteristics))
	for _, c := range v.Characteristics {
		switch {
		case c.Name != "" && c.Value != "":
			parts = append(parts, c.Name+": "+c.Value)
		case c.Value != "":
			parts = append(parts, c.Value)
		}
	}
	if len(parts) == 0 {
		return v.Name
	}
	return strings.Join(parts, "; ")
}
