-- The site's own id of an order's buyer (<Контрагент><Ид> as the site sent
-- it) and the account Obmen matched it to: an order sent back names the
-- buyer by the site's id while the order's account is still that one, so
-- that the site's module finds its own customer instead of creating one
-- under Obmen's id.
ALTER TABLE site_orders ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE site_orders ADD COLUMN buyer_account_id BIGINT NOT NULL DEFAULT 0;
