-- The switch of a 1C catalog writes a change event for each product whose
-- variants, prices per type, stock per warehouse or totals its offers
-- changed (issue 17). Per staged good: the product's price and stock
-- before the offers were applied, and which of its offer rows differ
-- from what is stored (set before they are written, so that only those
-- are written and an exchange that changes nothing writes nothing).
ALTER TABLE cml_stage_goods ADD COLUMN old_price BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cml_stage_goods ADD COLUMN old_stock BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cml_stage_goods ADD COLUMN variants_changed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cml_stage_goods ADD COLUMN prices_changed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cml_stage_goods ADD COLUMN stocks_changed BOOLEAN NOT NULL DEFAULT FALSE;
