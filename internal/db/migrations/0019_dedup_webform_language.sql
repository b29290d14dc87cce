-- What a web form says to its visitors (internal/intake/webform): "ru"
-- or "en".
ALTER TABLE webforms ADD COLUMN language TEXT NOT NULL DEFAULT 'ru';

-- Duplicate rules (internal/dedup), one per entity: the keys that find an
-- existing record like a new one (a comma list of phone, email, inn,
-- name) and what then happens to the new one: allow, warn, link (to the
-- existing contact or company), merge (into the open lead, or the
-- existing record) or refuse.
CREATE TABLE dedup_rules (
    entity TEXT PRIMARY KEY,
    match_keys TEXT NOT NULL,
    action TEXT NOT NULL,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);
INSERT INTO dedup_rules (entity, match_keys, action) VALUES
    ('lead', 'phone,email', 'warn'),
    ('contact', 'phone,email', 'warn'),
    ('account', 'inn', 'warn');
