-- Exchange with web shops (issue 18, internal/commerceml/site): Obmen
-- plays 1C toward each site's 1c_exchange.php. settings is the site's
-- JSON without its password; password is sealed by the secrets box.
-- catalog_cursor is the last change event covered by a successful
-- catalog export ("only changed" exports what came after it);
-- orders_cursor is the time (µs) up to which changed orders were sent
-- back to the site. *_due_at is
-- when the schedule next runs each kind (0: not scheduled); *_failures
-- counts consecutive failed runs of each kind (an alert after N);
-- *_lease is until when a run of that kind holds the site (one run at a
-- time across instances; a crashed run's lease runs out).
CREATE TABLE site_exchanges (
    id {{id}},
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    password TEXT NOT NULL DEFAULT '',
    catalog_cursor BIGINT NOT NULL DEFAULT 0,
    orders_cursor BIGINT NOT NULL DEFAULT 0,
    catalog_due_at BIGINT NOT NULL DEFAULT 0,
    orders_due_at BIGINT NOT NULL DEFAULT 0,
    catalog_failures INTEGER NOT NULL DEFAULT 0,
    orders_failures INTEGER NOT NULL DEFAULT 0,
    catalog_lease BIGINT NOT NULL DEFAULT 0,
    orders_lease BIGINT NOT NULL DEFAULT 0,
    created_by_id BIGINT NOT NULL DEFAULT 0,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (name)
);

-- Which site exchange a journal entry (cml_exchanges, direction 'site')
-- belongs to, and the kind of run (catalog or orders).
ALTER TABLE cml_exchanges ADD COLUMN site_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cml_exchanges_site ON cml_exchanges (site_id, id);

-- The orders that came from a site: the site's own number (also kept in
-- sales_orders.from_site, as the seed shows it), so that two sites with
-- the same numbering do not mix.
CREATE TABLE site_orders (
    order_id BIGINT PRIMARY KEY,
    site_id BIGINT NOT NULL,
    number TEXT NOT NULL,
    UNIQUE (site_id, number)
);
