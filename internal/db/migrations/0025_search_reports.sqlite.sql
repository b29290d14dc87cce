-- Global search and reports at 100,000 records (issue 20, points 11 and
-- 15), SQLite's half; 0025_search_reports.postgres.sql is PostgreSQL's.

-- Search: each searched table's lower-cased search text (crm.SearchText)
-- has an FTS5 trigram index, so that q= finds a substring without
-- reading every row (store.textCondition: the FTS table gives the
-- candidates, r.search LIKE keeps the meaning exact; the trigram
-- tokenizer folds case in every alphabet, not ё to е). External content:
-- the text lives once, in the table; the triggers keep the index in the
-- writing transaction, whatever the path (store, import, merge, restore).

CREATE VIRTUAL TABLE leads_fts USING fts5(search, content='leads', content_rowid='id', tokenize='trigram');
INSERT INTO leads_fts (leads_fts) VALUES ('rebuild');
CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER leads_fts_update AFTER UPDATE OF search ON leads WHEN old.search IS NOT new.search BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO leads_fts (rowid, search) VALUES (new.id, new.search);
END;

CREATE VIRTUAL TABLE contacts_fts USING fts5(search, content='contacts', content_rowid='id', tokenize='trigram');
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search ON contacts WHEN old.search IS NOT new.search BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO contacts_fts (rowid, search) VALUES (new.id, new.search);
END;

CREATE VIRTUAL TABLE accounts_fts USING fts5(search, content='accounts', content_rowid='id', tokenize='trigram');
INSERT INTO accounts_fts (accounts_fts) VALUES ('rebuild');
CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO accounts_fts (accounts_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER accounts_fts_update AFTER UPDATE OF search ON accounts WHEN old.search IS NOT new.search BEGIN
    INSERT INTO accounts_fts (accounts_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO accounts_fts (rowid, search) VALUES (new.id, new.search);
END;

CREATE VIRTUAL TABLE deals_fts USING fts5(search, content='deals', content_rowid='id', tokenize='trigram');
INSERT INTO deals_fts (deals_fts) VALUES ('rebuild');
CREATE TRIGGER deals_fts_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deals_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER deals_fts_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER deals_fts_update AFTER UPDATE OF search ON deals WHEN old.search IS NOT new.search BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO deals_fts (rowid, search) VALUES (new.id, new.search);
END;

CREATE VIRTUAL TABLE sales_orders_fts USING fts5(search, content='sales_orders', content_rowid='id', tokenize='trigram');
INSERT INTO sales_orders_fts (sales_orders_fts) VALUES ('rebuild');
CREATE TRIGGER sales_orders_fts_insert AFTER INSERT ON sales_orders BEGIN
    INSERT INTO sales_orders_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER sales_orders_fts_delete AFTER DELETE ON sales_orders BEGIN
    INSERT INTO sales_orders_fts (sales_orders_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER sales_orders_fts_update AFTER UPDATE OF search ON sales_orders WHEN old.search IS NOT new.search BEGIN
    INSERT INTO sales_orders_fts (sales_orders_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO sales_orders_fts (rowid, search) VALUES (new.id, new.search);
END;

CREATE VIRTUAL TABLE invoices_fts USING fts5(search, content='invoices', content_rowid='id', tokenize='trigram');
INSERT INTO invoices_fts (invoices_fts) VALUES ('rebuild');
CREATE TRIGGER invoices_fts_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO invoices_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER invoices_fts_delete AFTER DELETE ON invoices BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER invoices_fts_update AFTER UPDATE OF search ON invoices WHEN old.search IS NOT new.search BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO invoices_fts (rowid, search) VALUES (new.id, new.search);
END;

CREATE VIRTUAL TABLE products_fts USING fts5(search, content='products', content_rowid='id', tokenize='trigram');
INSERT INTO products_fts (products_fts) VALUES ('rebuild');
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, search) VALUES (new.id, new.search);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, search) VALUES ('delete', old.id, old.search);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF search ON products WHEN old.search IS NOT new.search BEGIN
    INSERT INTO products_fts (products_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO products_fts (rowid, search) VALUES (new.id, new.search);
END;

-- An e-mail's domain and a phone's last 7 digits find the newest records
-- first: the record id in the index lets store.commsSearch read the
-- matches in id order and stop at the page's end ("example.ru" matches
-- every lead).
CREATE INDEX comms_email_domain_record ON comms ((substr(normalized, instr(normalized, '@') + 1)), entity, record_id) WHERE kind = 'EMAIL';
CREATE INDEX comms_phone_tail_record ON comms ((substr(normalized, length(normalized) - 6)), entity, record_id) WHERE kind = 'PHONE';

-- The reports' counts (0025_reports.sql), kept by triggers.
CREATE TRIGGER report_leads_insert AFTER INSERT ON leads WHEN new.deleted_at = 0 BEGIN
    INSERT INTO report_leads (hour, source_id, utm_campaign, assigned_by_id, n) VALUES (new.created_at / 3600000000, new.source_id, new.utm_campaign, new.assigned_by_id, 1)
        ON CONFLICT (hour, source_id, utm_campaign, assigned_by_id) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_leads_delete AFTER DELETE ON leads WHEN old.deleted_at = 0 BEGIN
    UPDATE report_leads SET n = n - 1 WHERE hour = old.created_at / 3600000000 AND source_id = old.source_id AND utm_campaign = old.utm_campaign AND assigned_by_id = old.assigned_by_id;
END;
CREATE TRIGGER report_leads_update AFTER UPDATE OF created_at, source_id, utm_campaign, assigned_by_id, deleted_at ON leads
    WHEN old.created_at / 3600000000 IS NOT new.created_at / 3600000000 OR old.source_id IS NOT new.source_id OR old.utm_campaign IS NOT new.utm_campaign OR old.assigned_by_id IS NOT new.assigned_by_id OR (old.deleted_at = 0) IS NOT (new.deleted_at = 0) BEGIN
    UPDATE report_leads SET n = n - 1 WHERE old.deleted_at = 0 AND hour = old.created_at / 3600000000 AND source_id = old.source_id AND utm_campaign = old.utm_campaign AND assigned_by_id = old.assigned_by_id;
    INSERT INTO report_leads (hour, source_id, utm_campaign, assigned_by_id, n) SELECT new.created_at / 3600000000, new.source_id, new.utm_campaign, new.assigned_by_id, 1 WHERE new.deleted_at = 0
        ON CONFLICT (hour, source_id, utm_campaign, assigned_by_id) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_deals_insert AFTER INSERT ON deals WHEN new.deleted_at = 0 BEGIN
    INSERT INTO report_deals (hour, category_id, stage_id, assigned_by_id, n, amount) VALUES (new.created_at / 3600000000, new.category_id, new.stage_id, new.assigned_by_id, 1, new.opportunity)
        ON CONFLICT (hour, category_id, stage_id, assigned_by_id) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER report_deals_delete AFTER DELETE ON deals WHEN old.deleted_at = 0 BEGIN
    UPDATE report_deals SET n = n - 1, amount = amount - old.opportunity WHERE hour = old.created_at / 3600000000 AND category_id = old.category_id AND stage_id = old.stage_id AND assigned_by_id = old.assigned_by_id;
END;
CREATE TRIGGER report_deals_update AFTER UPDATE OF created_at, category_id, stage_id, assigned_by_id, opportunity, deleted_at ON deals
    WHEN old.created_at / 3600000000 IS NOT new.created_at / 3600000000 OR old.category_id IS NOT new.category_id OR old.stage_id IS NOT new.stage_id OR old.assigned_by_id IS NOT new.assigned_by_id OR old.opportunity IS NOT new.opportunity OR (old.deleted_at = 0) IS NOT (new.deleted_at = 0) BEGIN
    UPDATE report_deals SET n = n - 1, amount = amount - old.opportunity WHERE old.deleted_at = 0 AND hour = old.created_at / 3600000000 AND category_id = old.category_id AND stage_id = old.stage_id AND assigned_by_id = old.assigned_by_id;
    INSERT INTO report_deals (hour, category_id, stage_id, assigned_by_id, n, amount) SELECT new.created_at / 3600000000, new.category_id, new.stage_id, new.assigned_by_id, 1, new.opportunity WHERE new.deleted_at = 0
        ON CONFLICT (hour, category_id, stage_id, assigned_by_id) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER report_won_insert AFTER INSERT ON deals WHEN new.deleted_at = 0 AND new.won = TRUE BEGIN
    INSERT INTO report_won (assigned_by_id, close_date, day, n, amount) VALUES (new.assigned_by_id, new.close_date, new.updated_at / 86400000000, 1, new.opportunity)
        ON CONFLICT (assigned_by_id, close_date, day) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER report_won_delete AFTER DELETE ON deals WHEN old.deleted_at = 0 AND old.won = TRUE BEGIN
    UPDATE report_won SET n = n - 1, amount = amount - old.opportunity WHERE assigned_by_id = old.assigned_by_id AND close_date = old.close_date AND day = old.updated_at / 86400000000;
END;
CREATE TRIGGER report_won_update AFTER UPDATE OF assigned_by_id, close_date, updated_at, opportunity, deleted_at, won ON deals
    WHEN old.assigned_by_id IS NOT new.assigned_by_id OR old.close_date IS NOT new.close_date OR old.updated_at / 86400000000 IS NOT new.updated_at / 86400000000 OR old.opportunity IS NOT new.opportunity OR (old.deleted_at = 0 AND old.won = TRUE) IS NOT (new.deleted_at = 0 AND new.won = TRUE) BEGIN
    UPDATE report_won SET n = n - 1, amount = amount - old.opportunity WHERE old.deleted_at = 0 AND old.won = TRUE AND assigned_by_id = old.assigned_by_id AND close_date = old.close_date AND day = old.updated_at / 86400000000;
    INSERT INTO report_won (assigned_by_id, close_date, day, n, amount) SELECT new.assigned_by_id, new.close_date, new.updated_at / 86400000000, 1, new.opportunity WHERE new.deleted_at = 0 AND new.won = TRUE
        ON CONFLICT (assigned_by_id, close_date, day) DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount;
END;
CREATE TRIGGER report_activities_insert AFTER INSERT ON activities WHEN new.deleted_at = 0 BEGIN
    INSERT INTO report_activities (hour, assigned_by_id, done, end_hour, n) VALUES (new.start_at / 3600000000, new.assigned_by_id, new.done, new.end_at / 3600000000, 1)
        ON CONFLICT (hour, assigned_by_id, done, end_hour) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_activities_delete AFTER DELETE ON activities WHEN old.deleted_at = 0 BEGIN
    UPDATE report_activities SET n = n - 1 WHERE hour = old.start_at / 3600000000 AND assigned_by_id = old.assigned_by_id AND done = old.done AND end_hour = old.end_at / 3600000000;
END;
CREATE TRIGGER report_activities_update AFTER UPDATE OF start_at, assigned_by_id, done, end_at, deleted_at ON activities
    WHEN old.start_at / 3600000000 IS NOT new.start_at / 3600000000 OR old.assigned_by_id IS NOT new.assigned_by_id OR old.done IS NOT new.done OR old.end_at / 3600000000 IS NOT new.end_at / 3600000000 OR (old.deleted_at = 0) IS NOT (new.deleted_at = 0) BEGIN
    UPDATE report_activities SET n = n - 1 WHERE old.deleted_at = 0 AND hour = old.start_at / 3600000000 AND assigned_by_id = old.assigned_by_id AND done = old.done AND end_hour = old.end_at / 3600000000;
    INSERT INTO report_activities (hour, assigned_by_id, done, end_hour, n) SELECT new.start_at / 3600000000, new.assigned_by_id, new.done, new.end_at / 3600000000, 1 WHERE new.deleted_at = 0
        ON CONFLICT (hour, assigned_by_id, done, end_hour) DO UPDATE SET n = n + excluded.n;
END;
