-- The 1C catalog exchange keeps what real catalogs carry beyond one price
-- and one stock (issue 17): variants (1C's characteristics, offers with
-- "<good>#<characteristic>" ids), a price per price type, stock per
-- warehouse, and the aliases 1C writes for currencies.

-- A variant of a product: its own 1C id, article, characteristics (JSON
-- list of {"name","value"}), the price of the chosen price type and its
-- stock (the product's stock is the sum of its variants').
CREATE TABLE product_variants (
    id {{id}},
    product_id BIGINT NOT NULL,
    id1c TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    article TEXT NOT NULL DEFAULT '',
    characteristics TEXT NOT NULL DEFAULT '[]',
    price BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    stock BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (id1c)
);
CREATE INDEX product_variants_product ON product_variants (product_id, id);

-- The price of a product (variant_id 0) or of one of its variants per
-- price type (by its name; type_id1c is 1C's id of the type).
CREATE TABLE product_prices (
    product_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL DEFAULT 0,
    price_type TEXT NOT NULL,
    type_id1c TEXT NOT NULL DEFAULT '',
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (product_id, variant_id, price_type)
);

-- Stock of a product (variant_id 0) or variant per warehouse (1C's id).
CREATE TABLE product_stocks (
    product_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL DEFAULT 0,
    warehouse TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (product_id, variant_id, warehouse)
);

-- What 1C writes for a currency ("грн", "руб.", "₽", "у.е.") → ISO code;
-- editable by administrators.
CREATE TABLE currency_aliases (
    alias TEXT PRIMARY KEY,
    code TEXT NOT NULL
);
INSERT INTO currency_aliases (alias, code) VALUES ('РУБ', 'RUB'), ('РУБ.', 'RUB'), ('RUR', 'RUB'), ('643', 'RUB'), ('₽', 'RUB'),
    ('РУБЛЬ', 'RUB'), ('РУБЛИ', 'RUB'), ('Р.', 'RUB'), ('ГРН', 'UAH'), ('ГРН.', 'UAH'), ('₴', 'UAH'), ('980', 'UAH'),
    ('ГРИВНА', 'UAH'), ('ДОЛЛ', 'USD'), ('ДОЛЛ.', 'USD'), ('$', 'USD'), ('840', 'USD'), ('У.Е.', 'USD'), ('УЕ', 'USD'),
    ('ЕВРО', 'EUR'), ('€', 'EUR'), ('978', 'EUR'), ('ТЕНГЕ', 'KZT'), ('ТГ', 'KZT'), ('₸', 'KZT'), ('398', 'KZT'),
    ('BYR', 'BYN'), ('БЕЛ. РУБ.', 'BYN'), ('933', 'BYN');

-- Staged offers of a catalog exchange (stage.go): variants, the prices
-- of every price type and the stock per warehouse of each offer, applied
-- set-based at the switch once the goods' products exist. owner_id1c is
-- the offer's 1C id (a variant's "<good>#<characteristic>"), good_id1c
-- its good's. has_stock/has_chars: the file carried them (a prices file
-- carries no stock, a rests file no prices). live: the last row of its
-- 1C id in the batch (the switch clears it on the earlier ones).
CREATE TABLE cml_stage_offers (
    batch_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    ord BIGINT NOT NULL,
    owner_id1c TEXT NOT NULL,
    good_id1c TEXT NOT NULL,
    variant BOOLEAN NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    article TEXT NOT NULL DEFAULT '',
    chars TEXT NOT NULL DEFAULT '',
    has_chars BOOLEAN NOT NULL DEFAULT FALSE,
    price BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT '',
    has_price BOOLEAN NOT NULL DEFAULT FALSE,
    stock BIGINT NOT NULL DEFAULT 0,
    has_stock BOOLEAN NOT NULL DEFAULT FALSE,
    line BIGINT NOT NULL DEFAULT 0,
    live BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (batch_id, file_id, seq)
);
CREATE INDEX cml_stage_offers_owner ON cml_stage_offers (batch_id, owner_id1c, ord);
-- The goods the batch's offers are for, each once; product_id is set at
-- the switch (0: no such product).
CREATE TABLE cml_stage_goods (
    batch_id BIGINT NOT NULL,
    good_id1c TEXT NOT NULL,
    product_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, good_id1c)
);
CREATE TABLE cml_stage_offer_prices (
    batch_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    price_type TEXT NOT NULL,
    type_id1c TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (batch_id, file_id, seq, price_type)
);
CREATE TABLE cml_stage_offer_stocks (
    batch_id BIGINT NOT NULL,
    file_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    warehouse TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (batch_id, file_id, seq, warehouse)
);

-- Each skipped or refused item of an exchange (JSON list of {"id",
-- "name","file","line","reason"}), downloadable as CSV; partly_failed: the
-- exchange answered success to 1C with items refused.
ALTER TABLE cml_exchanges ADD COLUMN skipped TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cml_exchanges ADD COLUMN partly_failed BOOLEAN NOT NULL DEFAULT FALSE;
