-- CommerceML catalog imports are staged, then switched in (internal/
-- commerceml/exchange/stage.go). An import file's journal entry records
-- its stage: '' (not staged: sale files, entries before staging),
-- 'staging' (being read; staged_items entities are staged and need not be
-- read again after a restart), 'staged' (read whole, waiting for its
-- switch), 'switched' or 'discarded'. batch_id is the entry whose batch
-- the file's rows belong to: its own id, or that of the import.xml of the
-- same package, so that import.xml and offers.xml switch together.
-- full_catalog: a full (not changes-only) catalog, whose switch may
-- deactivate the goods 1C no longer sends (mode=deactivate).
ALTER TABLE cml_exchanges ADD COLUMN stage TEXT NOT NULL DEFAULT '';
ALTER TABLE cml_exchanges ADD COLUMN batch_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cml_exchanges ADD COLUMN staged_items BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cml_exchanges ADD COLUMN full_catalog BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cml_exchanges ADD COLUMN deactivated BOOLEAN NOT NULL DEFAULT FALSE;

-- One prepared product per row: the columns of products as they will be
-- written (record_id reserved ahead for a create), the event's changes,
-- and what the switch needs to check that the row still applies
-- (base_updated_at); cml_stage_src has what it needs to apply it afresh
-- when it does not. A later row for the same product (the offer of a good staged in
-- the same batch) supersedes the earlier: superseded_by is its file.
-- slow marks the rows the switch applies one by one.
CREATE TABLE cml_stage_products (
    batch_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    ord BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    op TEXT NOT NULL,
    id1c TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    article TEXT NOT NULL,
    unit TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    vat_rate BIGINT,
    vat_included BOOLEAN NOT NULL,
    stock BIGINT NOT NULL,
    description TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    search TEXT NOT NULL,
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    base_updated_at BIGINT NOT NULL DEFAULT 0,
    ext_id TEXT NOT NULL DEFAULT '',
    set_cats BOOLEAN NOT NULL DEFAULT FALSE,
    cats TEXT NOT NULL DEFAULT '',
    changes TEXT NOT NULL DEFAULT '',
    slow BOOLEAN NOT NULL DEFAULT FALSE,
    superseded_by BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, file_id, seq)
);
CREATE INDEX cml_stage_products_record ON cml_stage_products (batch_id, record_id);
CREATE INDEX cml_stage_products_name ON cml_stage_products (batch_id, name, article);
CREATE INDEX cml_stage_products_id1c ON cml_stage_products (batch_id, id1c);
CREATE INDEX cml_stage_products_live ON cml_stage_products (batch_id, superseded_by, op);

-- What the staging of later files and the one-by-one path of the switch
-- need of a staged product, kept apart so that the switch's set-based
-- statements read narrow rows: the product as staged and as it was
-- (JSON), and what 1C sent.
CREATE TABLE cml_stage_src (
    batch_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    data TEXT NOT NULL,
    old TEXT NOT NULL DEFAULT '',
    src TEXT NOT NULL,
    PRIMARY KEY (batch_id, file_id, seq)
);

-- The catalog memberships of the staged products.
CREATE TABLE cml_stage_items (
    batch_id BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    catalog_id BIGINT NOT NULL,
    PRIMARY KEY (batch_id, record_id, catalog_id)
);

-- Everything else a file stages, applied one by one at the switch (there
-- are few): units, catalogs (with the id reserved for a new one),
-- services, offers of services. record_id is set at the switch to the
-- service a row applied to, for mode=deactivate.
CREATE TABLE cml_stage_other (
    batch_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    record_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, file_id, seq, kind)
);
