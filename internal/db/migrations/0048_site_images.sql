-- Issue 18. catalog_events is the last change event (events.id) a
-- successful catalog export to the site covered: "only changed" also
-- sends the products and services with change events after it, which
-- catches prices and stocks per type and warehouse (product_prices,
-- product_stocks) that 1C changed without touching the product's row.
-- 0 until the first successful export after this migration.
ALTER TABLE site_exchanges ADD COLUMN catalog_events BIGINT NOT NULL DEFAULT 0;

-- A product's pictures (CommerceML <Картинка>, import_files/ of the
-- exchange): variant_id 0 for the product's own; position orders them
-- (0 is the main one). path is where 1C put the file
-- ("import_files/ab/abcdef.jpg"), by which a later exchange finds it;
-- file_name is its last part. Only real images are kept (jpeg, png, gif,
-- webp, sniffed from the bytes), size-limited; data holds the bytes.
CREATE TABLE product_images (
    id {{id}},
    product_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    path TEXT NOT NULL DEFAULT '',
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data {{blob}} NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX product_images_product ON product_images (product_id, variant_id, position);
