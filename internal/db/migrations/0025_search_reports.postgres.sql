-- Global search and reports at 100,000 records (issue 20, points 11 and
-- 15), PostgreSQL's half; 0025_search_reports.sqlite.sql is SQLite's.

-- Search: q= is a substring of the lower-cased search text (LIKE
-- '%…%'), which a pg_trgm GIN index answers. pg_trgm is a contrib
-- extension, trusted since PostgreSQL 13 (a database owner may create
-- it); where it cannot be created (no contrib package, no right) the
-- searches work as before, reading the rows, and the notice says why.
-- It goes to public when it can, so that every schema of the database
-- (the tests make one each) finds the operator class by its schema.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'obmen: pg_trgm cannot be created (%): q= searches read every row', SQLERRM;
        END;
    END;
END $$;

DO $$
DECLARE
    ns TEXT;
BEGIN
    SELECT n.nspname INTO ns FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF ns IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE INDEX leads_search_trgm ON leads USING gin (search %I.gin_trgm_ops)', ns);
    EXECUTE format('CREATE INDEX contacts_search_trgm ON contacts USING gin (search %I.gin_trgm_ops)', ns);
    EXECUTE format('CREATE INDEX accounts_search_trgm ON accounts USING gin (search %I.gin_trgm_ops)', ns);
    EXECUTE format('CREATE INDEX deals_search_trgm ON deals USING gin (search %I.gin_trgm_ops)', ns);
    EXECUTE format('CREATE INDEX sales_orders_search_trgm ON sales_orders USING gin (search %I.gin_trgm_ops)', ns);
    EXECUTE format('CREATE INDEX invoices_search_trgm ON invoices USING gin (search %I.gin_trgm_ops)', ns);
    EXECUTE format('CREATE INDEX products_search_trgm ON products USING gin (search %I.gin_trgm_ops)', ns);
END $$;

-- An e-mail's domain and a phone's last 7 digits find the newest records
-- first: the record id in the index lets store.commsSearch read the
-- matches in id order and stop at the page's end ("example.ru" matches
-- every lead).
CREATE INDEX comms_email_domain_record ON comms ((split_part(normalized, '@', 2)), entity, record_id) WHERE kind = 'EMAIL';
CREATE INDEX comms_phone_tail_record ON comms ((substr(normalized, length(normalized) - 6)), entity, record_id) WHERE kind = 'PHONE';

-- The reports' counts (0025_reports.sql), kept by triggers. Concurrent
-- writes of one hour, source and manager wait for each other's commit on
-- the count's row (a lead's write is short; the row is the same one only
-- within an hour and a manager).
CREATE FUNCTION report_leads_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at = 0 THEN
            UPDATE report_leads SET n = n - 1 WHERE hour = OLD.created_at / 3600000000 AND source_id = OLD.source_id AND utm_campaign = OLD.utm_campaign AND assigned_by_id = OLD.assigned_by_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at = 0 THEN
            INSERT INTO report_leads (hour, source_id, utm_campaign, assigned_by_id, n) VALUES (NEW.created_at / 3600000000, NEW.source_id, NEW.utm_campaign, NEW.assigned_by_id, 1)
                ON CONFLICT (hour, source_id, utm_campaign, assigned_by_id) DO UPDATE SET n = report_leads.n + excluded.n;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_leads_insert_delete AFTER INSERT OR DELETE ON leads FOR EACH ROW EXECUTE FUNCTION report_leads_count();
CREATE TRIGGER report_leads_update AFTER UPDATE OF created_at, source_id, utm_campaign, assigned_by_id, deleted_at ON leads FOR EACH ROW
    WHEN (OLD.created_at / 3600000000 IS DISTINCT FROM NEW.created_at / 3600000000 OR OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.utm_campaign IS DISTINCT FROM NEW.utm_campaign OR OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR (OLD.deleted_at = 0) IS DISTINCT FROM (NEW.deleted_at = 0)) EXECUTE FUNCTION report_leads_count();
CREATE FUNCTION report_deals_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at = 0 THEN
            UPDATE report_deals SET n = n - 1, amount = amount - OLD.opportunity WHERE hour = OLD.created_at / 3600000000 AND category_id = OLD.category_id AND stage_id = OLD.stage_id AND assigned_by_id = OLD.assigned_by_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at = 0 THEN
            INSERT INTO report_deals (hour, category_id, stage_id, assigned_by_id, n, amount) VALUES (NEW.created_at / 3600000000, NEW.category_id, NEW.stage_id, NEW.assigned_by_id, 1, NEW.opportunity)
                ON CONFLICT (hour, category_id, stage_id, assigned_by_id) DO UPDATE SET n = report_deals.n + excluded.n, amount = report_deals.amount + excluded.amount;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_deals_insert_delete AFTER INSERT OR DELETE ON deals FOR EACH ROW EXECUTE FUNCTION report_deals_count();
CREATE TRIGGER report_deals_update AFTER UPDATE OF created_at, category_id, stage_id, assigned_by_id, opportunity, deleted_at ON deals FOR EACH ROW
    WHEN (OLD.created_at / 3600000000 IS DISTINCT FROM NEW.created_at / 3600000000 OR OLD.category_id IS DISTINCT FROM NEW.category_id OR OLD.stage_id IS DISTINCT FROM NEW.stage_id OR OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR OLD.opportunity IS DISTINCT FROM NEW.opportunity OR (OLD.deleted_at = 0) IS DISTINCT FROM (NEW.deleted_at = 0)) EXECUTE FUNCTION report_deals_count();
CREATE FUNCTION report_won_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at = 0 AND OLD.won = TRUE THEN
            UPDATE report_won SET n = n - 1, amount = amount - OLD.opportunity WHERE assigned_by_id = OLD.assigned_by_id AND close_date = OLD.close_date AND day = OLD.updated_at / 86400000000;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at = 0 AND NEW.won = TRUE THEN
            INSERT INTO report_won (assigned_by_id, close_date, day, n, amount) VALUES (NEW.assigned_by_id, NEW.close_date, NEW.updated_at / 86400000000, 1, NEW.opportunity)
                ON CONFLICT (assigned_by_id, close_date, day) DO UPDATE SET n = report_won.n + excluded.n, amount = report_won.amount + excluded.amount;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_won_insert_delete AFTER INSERT OR DELETE ON deals FOR EACH ROW EXECUTE FUNCTION report_won_count();
CREATE TRIGGER report_won_update AFTER UPDATE OF assigned_by_id, close_date, updated_at, opportunity, deleted_at, won ON deals FOR EACH ROW
    WHEN (OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR OLD.close_date IS DISTINCT FROM NEW.close_date OR OLD.updated_at / 86400000000 IS DISTINCT FROM NEW.updated_at / 86400000000 OR OLD.opportunity IS DISTINCT FROM NEW.opportunity OR (OLD.deleted_at = 0 AND OLD.won = TRUE) IS DISTINCT FROM (NEW.deleted_at = 0 AND NEW.won = TRUE)) EXECUTE FUNCTION report_won_count();
CREATE FUNCTION report_activities_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.deleted_at = 0 THEN
            UPDATE report_activities SET n = n - 1 WHERE hour = OLD.start_at / 3600000000 AND assigned_by_id = OLD.assigned_by_id AND done = OLD.done AND end_hour = OLD.end_at / 3600000000;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.deleted_at = 0 THEN
            INSERT INTO report_activities (hour, assigned_by_id, done, end_hour, n) VALUES (NEW.start_at / 3600000000, NEW.assigned_by_id, NEW.done, NEW.end_at / 3600000000, 1)
                ON CONFLICT (hour, assigned_by_id, done, end_hour) DO UPDATE SET n = report_activities.n + excluded.n;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_activities_insert_delete AFTER INSERT OR DELETE ON activities FOR EACH ROW EXECUTE FUNCTION report_activities_count();
CREATE TRIGGER report_activities_update AFTER UPDATE OF start_at, assigned_by_id, done, end_at, deleted_at ON activities FOR EACH ROW
    WHEN (OLD.start_at / 3600000000 IS DISTINCT FROM NEW.start_at / 3600000000 OR OLD.assigned_by_id IS DISTINCT FROM NEW.assigned_by_id OR OLD.done IS DISTINCT FROM NEW.done OR OLD.end_at / 3600000000 IS DISTINCT FROM NEW.end_at / 3600000000 OR (OLD.deleted_at = 0) IS DISTINCT FROM (NEW.deleted_at = 0)) EXECUTE FUNCTION report_activities_count();
