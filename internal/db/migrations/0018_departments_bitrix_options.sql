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
