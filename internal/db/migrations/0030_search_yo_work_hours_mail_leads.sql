-- Issue 20, the leftovers of points 11, 13 and 14.

-- Point 11: search folds ё to е (crm.FoldSearch), so that "королев" finds
-- "Королёв" and "королёв" finds "Королев". The search text is computed in
-- Go; the rows written before are folded here. On SQLite the UPDATE fires
-- the FTS5 triggers of 0025 (AFTER UPDATE OF search), which rewrite the
-- trigram rows of exactly the changed records; the report-count triggers
-- watch other columns and stay as they are. On PostgreSQL the pg_trgm
-- indexes follow the rows.
UPDATE accounts SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE contacts SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE leads SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE deals SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE products SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE services SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE catalogs SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE sales_orders SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE invoices SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE tickets SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE activities SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';
UPDATE cml_stage_products SET search = replace(search, 'ё', 'е') WHERE search LIKE '%ё%';

-- Point 13: a user's working hours, in the user's time zone (the
-- preference "time_zone", else the installation's): work_days is a bit
-- mask, Monday 1 … Sunday 64, 0 when no hours are set (always on duty);
-- work_from/work_to are minutes from midnight, from > to spans midnight,
-- equal means the whole day. A distribution rule with working_hours_only
-- gives leads only to its users on duty at the moment.
ALTER TABLE users ADD COLUMN work_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN work_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN work_to INTEGER NOT NULL DEFAULT 0;
ALTER TABLE distribution_rules ADD COLUMN working_hours_only BOOLEAN NOT NULL DEFAULT FALSE;

-- Point 14: a mail collector's mode: 'order' reads the seed-004 JSON
-- attachment, 'any' makes a lead of every ordinary e-mail (sender,
-- subject, body, attachments).
ALTER TABLE intake_collectors ADD COLUMN mode TEXT NOT NULL DEFAULT 'order';

-- Files attached to a lead (an e-mail's attachments), bounded in size by
-- the writer (store.MaxLeadFile, store.MaxLeadFiles), downloadable from
-- the card.
CREATE TABLE lead_files (
    id {{id}},
    lead_id BIGINT NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data {{blob}} NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX lead_files_lead ON lead_files (lead_id, id);
