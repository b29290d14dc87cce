-- PostgreSQL: the rebuilt tables' identities continue after the copied
-- ids (SQLite's AUTOINCREMENT follows explicit ids by itself).
SELECT setval(pg_get_serial_sequence('requisites', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM requisites), 1), (SELECT COUNT(*) > 0 FROM requisites));
SELECT setval(pg_get_serial_sequence('bank_details', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM bank_details), 1), (SELECT COUNT(*) > 0 FROM bank_details));
