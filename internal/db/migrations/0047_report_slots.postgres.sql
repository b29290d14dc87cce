-- PostgreSQL: the report counts of migration 0025 are split in slots, one
-- per connection (its backend pid modulo 16), so that concurrent creates
-- of one hour, source and manager no longer queue on a single row.
-- Measured (issue 21): with one row, every lead create waited for the
-- previous one's commit, which halved pgbench's lead + phone + event
-- transaction and cut Obmen's creates (which hold the row across more
-- round trips) to a third. Readers already SUM(n) over their groups; a
-- slot's n may go below zero (a lead counted in one slot and deleted from
-- another connection), the sums stay right. A decrement is an upsert into
-- the connection's own slot for the same reason: it never waits for
-- another connection's increment either. SQLite has one writer and keeps
-- its single rows.
--
-- The triggers also become deferred constraint triggers: the counts are
-- written at COMMIT, so a write holds a count's row for the commit only,
-- not across the round trips of the rest of its transaction (a lead's
-- phones, its event). The row images are those of each change, so a
-- transaction that creates and then changes a record counts it right.
ALTER TABLE report_leads ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE report_leads DROP CONSTRAINT report_leads_pkey;
ALTER TABLE report_leads ADD PRIMARY KEY (hour, source_id, utm_campaign, assigned_by_id, slot);
ALTER TABLE report_deals ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE report_deals DROP CONSTRAINT report_deals_pkey;
ALTER TABLE report_deals ADD PRIMARY KEY (hour, category_id, stage_id, assigned_by_id, slot);
ALTER TABLE report_activities ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE report_activities DROP CONSTRAINT report_activities_pkey;
ALTER TABLE report_activities ADD PRIMARY KEY (hour, assigned_by_id, done, end_hour, slot);

CREATE OR REPLACE FUNCTION report_leads_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s SMALLINT := pg_backend_pid() % 16;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.deleted_at = 0 THEN
        INSERT INTO report_leads (hour, source_id, utm_campaign, assigned_by_id, slot, n) VALUES (OLD.created_at / 3600000000, OLD.source_id, OLD.utm_campaign, OLD.assigned_by_id, s, -1)
            ON CONFLICT (hour, source_id, utm_campaign, assigned_by_id, slot) DO UPDATE SET n = report_leads.n + excluded.n;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.deleted_at = 0 THEN
        INSERT INTO report_leads (hour, source_id, utm_campaign, assigned_by_id, slot, n) VALUES (NEW.created_at / 3600000000, NEW.source_id, NEW.utm_campaign, NEW.assigned_by_id, s, 1)
            ON CONFLICT (hour, source_id, utm_campaign, assigned_by_id, slot) DO UPDATE SET n = report_leads.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION report_deals_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s SMALLINT := pg_backend_pid() % 16;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.deleted_at = 0 THEN
        INSERT INTO report_deals (hour, category_id, stage_id, assigned_by_id, slot, n, amount) VALUES (OLD.created_at / 3600000000, OLD.category_id, OLD.stage_id, OLD.assigned_by_id, s, -1, -OLD.opportunity)
            ON CONFLICT (hour, category_id, stage_id, assigned_by_id, slot) DO UPDATE SET n = report_deals.n + excluded.n, amount = report_deals.amount + excluded.amount;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.deleted_at = 0 THEN
        INSERT INTO report_deals (hour, category_id, stage_id, assigned_by_id, slot, n, amount) VALUES (NEW.created_at / 3600000000, NEW.category_id, NEW.stage_id, NEW.assigned_by_id, s, 1, NEW.opportunity)
            ON CONFLICT (hour, category_id, stage_id, assigned_by_id, slot) DO UPDATE SET n = report_deals.n + excluded.n, amount = report_deals.amount + excluded.amount;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION report_activities_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s SMALLINT := pg_backend_pid() % 16;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.deleted_at = 0 THEN
        INSERT INTO report_activities (hour, assigned_by_id, done, end_hour, slot, n) VALUES (OLD.start_at / 3600000000, OLD.assigned_by_id, OLD.done, OLD.end_at / 3600000000, s, -1)
            ON CONFLICT (hour, assigned_by_id, done, end_hour, slot) DO UPDATE SET n = report_activities.n + excluded.n;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.deleted_at = 0 THEN
        INSERT INTO report_activities (hour, assigned_by_id, done, end_hour, slot, n) VALUES (NEW.start_at / 3600000000, NEW.assigned_by_id, NEW.done, NEW.end_at / 3600000000, s, 1)
            ON CONFLICT (hour, assigned_by_id, done, end_hour, slot) DO UPDATE SET n = report_activities.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER report_leads_insert_delete ON leads;
DROP TRIGGER report_leads_update ON leads;
CREATE CONSTRAINT TRIGGER report_leads_insert_delete AFTER INSERT OR DELETE ON leads DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_leads_count();
CREATE CONSTRAINT TRIGGER report_leads_update AFTER UPDATE OF created_at, source_id, utm_campaign, assigned_by_id, deleted_at ON leads DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.created_at / 3600000000 IS DISTINCT FROM NEW.created_at / 3600000000 OR OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.utm_campaign IS DISTINCT FROM NEW.utm_campaign OR OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR (OLD.deleted_at = 0) IS DISTINCT FROM (NEW.deleted_at = 0)) EXECUTE FUNCTION report_leads_count();
DROP TRIGGER report_deals_insert_delete ON deals;
DROP TRIGGER report_deals_update ON deals;
CREATE CONSTRAINT TRIGGER report_deals_insert_delete AFTER INSERT OR DELETE ON deals DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_deals_count();
CREATE CONSTRAINT TRIGGER report_deals_update AFTER UPDATE OF created_at, category_id, stage_id, assigned_by_id, opportunity, deleted_at ON deals DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.created_at / 3600000000 IS DISTINCT FROM NEW.created_at / 3600000000 OR OLD.category_id IS DISTINCT FROM NEW.category_id OR OLD.stage_id IS DISTINCT FROM NEW.stage_id OR OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR OLD.opportunity IS DISTINCT FROM NEW.opportunity OR (OLD.deleted_at = 0) IS DISTINCT FROM (NEW.deleted_at = 0)) EXECUTE FUNCTION report_deals_count();
DROP TRIGGER report_activities_insert_delete ON activities;
DROP TRIGGER report_activities_update ON activities;
CREATE CONSTRAINT TRIGGER report_activities_insert_delete AFTER INSERT OR DELETE ON activities DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION report_activities_count();
CREATE CONSTRAINT TRIGGER report_activities_update AFTER UPDATE OF start_at, assigned_by_id, done, end_at, deleted_at ON activities DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.start_at / 3600000000 IS DISTINCT FROM NEW.start_at / 3600000000 OR OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR OLD.done IS DISTINCT FROM NEW.done OR OLD.end_at / 3600000000 IS DISTINCT FROM NEW.end_at / 3600000000 OR (OLD.deleted_at = 0) IS DISTINCT FROM (NEW.deleted_at = 0)) EXECUTE FUNCTION report_activities_count();
