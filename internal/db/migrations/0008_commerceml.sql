-- CommerceML exchange with 1C (internal/commerceml/exchange).
-- A session is opened by checkauth; its cookie value is the id (random,
-- 32 hex digits). cursor is the last change event covered by the orders
-- sent in this session's sale query, made the exchange's mark by
-- mode=success.
CREATE TABLE cml_sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    cursor BIGINT NOT NULL DEFAULT 0,
    query_exchange_id BIGINT NOT NULL DEFAULT 0
);

-- The exchange journal: one entry per import of a file, per sale query
-- and per sale import. direction is 'in' (1C → Obmen) or 'out'; status is
-- 'running', 'success' or 'failure'. counts is JSON
-- {"product": {"created": 1, "updated": 2, "skipped": 0, "failed": 0}, …};
-- problems is a JSON list of per-document errors that did not stop the
-- exchange; error is what stopped it, naming file, line and element.
-- open is false once a new upload of the same file name replaces it.
CREATE TABLE cml_exchanges (
    id {{id}},
    session_id TEXT NOT NULL,
    type TEXT NOT NULL,
    direction TEXT NOT NULL,
    filename TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    open BOOLEAN NOT NULL DEFAULT TRUE,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    problems TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    file_path TEXT NOT NULL DEFAULT '',
    file_size BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cml_exchanges_session ON cml_exchanges (session_id, filename);
CREATE INDEX cml_exchanges_running ON cml_exchanges (status);

-- Requisites 1C sends on an order that have no column of their own
-- ("Номер отгрузки по 1С", "Дата по 1С", …), kept as sent.
CREATE TABLE cml_order_requisites (
    order_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (order_id, name)
);
