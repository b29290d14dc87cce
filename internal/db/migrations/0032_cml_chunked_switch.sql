-- The switch of a staged 1C catalog runs in chunks, each its own short
-- write (internal/commerceml/exchange/switch.go): an entry's stage is
-- 'switching' from the first chunk to the last, and switch_at on the
-- batch's own entry says where the next chunk begins (JSON), so that a
-- restart resumes after the last chunk committed. The offers are applied
-- good by good: their index by good.
ALTER TABLE cml_exchanges ADD COLUMN switch_at TEXT NOT NULL DEFAULT '';
CREATE INDEX cml_stage_offers_good ON cml_stage_offers (batch_id, good_id1c);
