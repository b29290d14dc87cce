-- Issue 21: SQLite's group commit wrote a search-index segment per write
-- (SQLite only; PostgreSQL records the number with nothing to do).
--
-- FTS5 keeps what a transaction indexes in memory and writes it as one
-- new segment — but it also writes it out at every savepoint, and the
-- group committer runs each write of a batch in a savepoint (and a
-- multi-row insert after the record's own opens a statement savepoint):
-- so every created record cost a segment of its own, its merges after,
-- a quarter of the single writer's time in `obmen bench`. Instead the
-- insert triggers of 0025 now note the new row in fts_pending, and the
-- group committer indexes every noted row in one statement per table at
-- the end of the batch, before its commit (db.applyPendingSearch): one
-- segment per commit, and the index is still part of the same
-- transaction — nothing committed is missing from it. A row updated or
-- deleted while still noted is left to that step (update) or only
-- unnoted (delete): it has no index entries to remove yet. Rows noted by
-- a writer that does not go through the group committer are indexed at
-- the next commit that does.

CREATE TABLE fts_pending (
    tbl TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;

DROP TRIGGER leads_fts_insert;
DROP TRIGGER leads_fts_delete;
DROP TRIGGER leads_fts_update;
CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('leads', new.id);
END;
CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'leads' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'leads' AND id = old.id;
END;
CREATE TRIGGER leads_fts_update AFTER UPDATE OF search ON leads WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'leads' AND id = old.id) BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO leads_fts (rowid, search) VALUES (new.id, new.search);
END;

DROP TRIGGER contacts_fts_insert;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_update;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('contacts', new.id);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'contacts' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'contacts' AND id = old.id;
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search ON contacts WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'contacts' AND id = old.id) BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO contacts_fts (rowid, search) VALUES (new.id, new.search);
END;

DROP TRIGGER accounts_fts_insert;
DROP TRIGGER accounts_fts_delete;
DROP TRIGGER accounts_fts_update;
CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('accounts', new.id);
END;
CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO accounts_fts (accounts_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'accounts' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'accounts' AND id = old.id;
END;
CREATE TRIGGER accounts_fts_update AFTER UPDATE OF search ON accounts WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'accounts' AND id = old.id) BEGIN
    INSERT INTO accounts_fts (accounts_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO accounts_fts (rowid, search) VALUES (new.id, new.search);
END;

DROP TRIGGER deals_fts_insert;
DROP TRIGGER deals_fts_delete;
DROP TRIGGER deals_fts_update;
CREATE TRIGGER deals_fts_insert AFTER INSERT ON deals BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('deals', new.id);
END;
CREATE TRIGGER deals_fts_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'deals' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'deals' AND id = old.id;
END;
CREATE TRIGGER deals_fts_update AFTER UPDATE OF search ON deals WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'deals' AND id = old.id) BEGIN
    INSERT INTO deals_fts (deals_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO deals_fts (rowid, search) VALUES (new.id, new.search);
END;

DROP TRIGGER sales_orders_fts_insert;
DROP TRIGGER sales_orders_fts_delete;
DROP TRIGGER sales_orders_fts_update;
CREATE TRIGGER sales_orders_fts_insert AFTER INSERT ON sales_orders BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('sales_orders', new.id);
END;
CREATE TRIGGER sales_orders_fts_delete AFTER DELETE ON sales_orders BEGIN
    INSERT INTO sales_orders_fts (sales_orders_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'sales_orders' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'sales_orders' AND id = old.id;
END;
CREATE TRIGGER sales_orders_fts_update AFTER UPDATE OF search ON sales_orders WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'sales_orders' AND id = old.id) BEGIN
    INSERT INTO sales_orders_fts (sales_orders_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO sales_orders_fts (rowid, search) VALUES (new.id, new.search);
END;

DROP TRIGGER invoices_fts_insert;
DROP TRIGGER invoices_fts_delete;
DROP TRIGGER invoices_fts_update;
CREATE TRIGGER invoices_fts_insert AFTER INSERT ON invoices BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('invoices', new.id);
END;
CREATE TRIGGER invoices_fts_delete AFTER DELETE ON invoices BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'invoices' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'invoices' AND id = old.id;
END;
CREATE TRIGGER invoices_fts_update AFTER UPDATE OF search ON invoices WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'invoices' AND id = old.id) BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO invoices_fts (rowid, search) VALUES (new.id, new.search);
END;

DROP TRIGGER products_fts_insert;
DROP TRIGGER products_fts_delete;
DROP TRIGGER products_fts_update;
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT OR IGNORE INTO fts_pending (tbl, id) VALUES ('products', new.id);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, search) SELECT 'delete', old.id, old.search
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'products' AND id = old.id);
    DELETE FROM fts_pending WHERE tbl = 'products' AND id = old.id;
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF search ON products WHEN old.search IS NOT new.search
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE tbl = 'products' AND id = old.id) BEGIN
    INSERT INTO products_fts (products_fts, rowid, search) VALUES ('delete', old.id, old.search);
    INSERT INTO products_fts (rowid, search) VALUES (new.id, new.search);
END;
