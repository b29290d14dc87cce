-- A line item (a product row of a lead or deal, a line of an order or
-- invoice) may name a variant of its product (issue 17: characteristics
-- selectable in line items). NULL: the product itself. Variants are never
-- deleted today; should they be, the row keeps its product.
ALTER TABLE line_items ADD COLUMN variant_id BIGINT REFERENCES product_variants(id) ON DELETE SET NULL;
