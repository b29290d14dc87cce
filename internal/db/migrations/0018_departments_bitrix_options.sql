-- The company's department tree (Bitrix24's department.*): a user may
-- belong to several departments, as UF_DEPARTMENT lists them. The root
-- (id 1, no parent) is the company itself, as in Bitrix24.
CREATE TABLE departments (
    id {{id}},
    name TEXT NOT NULL,
    sort INTEGER NOT NULL DEFAULT 500,
    parent_id BIGINT REFERENCES departments(id),
    head_user_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX departments_parent ON departments (parent_id);
INSERT INTO departments (name, sort, parent_id, head_user_id, created_at, updated_at) VALUES ('Компания', 500, NULL, 0, 0, 0);

CREATE TABLE user_departments (
    user_id BIGINT NOT NULL REFERENCES users(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    PRIMARY KEY (user_id, department_id)
);
CREATE INDEX user_departments_department ON user_departments (department_id);

-- app.option.* and user.option.* of the Bitrix24-compatible API: values a
-- webhook's integration keeps (owner "bitrix-webhook:<id>"), for the
-- application (user_id 0) or for one user.
CREATE TABLE bitrix_options (
    owner TEXT NOT NULL,
    user_id BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (owner, user_id, name)
);

-- A stage's colour (crm.status.* COLOR), #RRGGBB; '' is the default one.
ALTER TABLE statuses ADD COLUMN color TEXT NOT NULL DEFAULT '';

-- Offline events of the Bitrix24-compatible API (event.bind with
-- event_type=offline, event.offline.*): a webhook integration's offline
-- bindings, each queueing the change events after since_event_id; the
-- queue holds one row per record and event name (the latest change), as
-- Bitrix24's does, until event.offline.get takes it (or reserves it under
-- a process_id for event.offline.clear).
CREATE TABLE bitrix_offline_bindings (
    owner TEXT NOT NULL,
    event TEXT NOT NULL,
    connector TEXT NOT NULL DEFAULT '',
    since_event_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, event, connector)
);

CREATE TABLE bitrix_offline_cursors (
    owner TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);

CREATE TABLE bitrix_offline_queue (
    id {{id}},
    owner TEXT NOT NULL,
    connector TEXT NOT NULL DEFAULT '',
    event_name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    process_id TEXT NOT NULL DEFAULT '',
    error BOOLEAN NOT NULL DEFAULT FALSE,
    changed_at BIGINT NOT NULL,
    UNIQUE (owner, connector, event_name, message_id, process_id)
);
CREATE INDEX bitrix_offline_queue_owner ON bitrix_offline_queue (owner, connector, process_id, id);

-- Which requisites and bank accounts a deal or an invoice is made out
-- with (Bitrix24's crm.requisite.link.*): the client's, and the seller's
-- own (mc_*); 0 is none.
CREATE TABLE requisite_links (
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    requisite_id BIGINT NOT NULL DEFAULT 0,
    bank_detail_id BIGINT NOT NULL DEFAULT 0,
    mc_requisite_id BIGINT NOT NULL DEFAULT 0,
    mc_bank_detail_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (entity, record_id)
);
