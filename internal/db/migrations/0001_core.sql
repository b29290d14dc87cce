-- Obmen core schema. Times are BIGINT microseconds since the Unix epoch
-- (UTC); calendar dates are TEXT 'YYYY-MM-DD' ('' when unset); money is
-- BIGINT minor units (kopecks); quantities are BIGINT thousandths; rates and
-- percentages are BIGINT hundredths. {{id}}, {{rowid}} and {{float}} are
-- the only engine-specific words (see migrate.go): {{id}} never reuses an
-- id (records that other systems refer to), {{rowid}} may (child rows).

CREATE TABLE users (
    id {{id}},
    login TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL DEFAULT '',
    middle_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    phones TEXT NOT NULL DEFAULT '[]',
    position TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'manager',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id {{id}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Dictionaries.
CREATE TABLE currencies (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    base BOOLEAN NOT NULL DEFAULT FALSE,
    rate BIGINT NOT NULL DEFAULT 10000,
    sort INTEGER NOT NULL DEFAULT 100
);

CREATE TABLE units (
    id {{id}},
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    okei TEXT NOT NULL DEFAULT ''
);

CREATE TABLE pipelines (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    sort INTEGER NOT NULL DEFAULT 100,
    is_default BOOLEAN NOT NULL DEFAULT FALSE
);

-- Statuses, stages and sources as Bitrix24 keeps them: entity_id is STATUS
-- (lead statuses), SOURCE, DEAL_STAGE (default pipeline), DEAL_STAGE_<n>,
-- ORDER_STATUS, INVOICE_STATUS, TICKET_STATUS …
CREATE TABLE statuses (
    id {{id}},
    entity_id TEXT NOT NULL,
    status_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sort INTEGER NOT NULL DEFAULT 100,
    semantics TEXT NOT NULL DEFAULT '',
    pipeline_id BIGINT,
    system BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (entity_id, status_id)
);

CREATE TABLE custom_fields (
    id {{id}},
    entity TEXT NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    required BOOLEAN NOT NULL DEFAULT FALSE,
    sort INTEGER NOT NULL DEFAULT 100,
    created_at BIGINT NOT NULL,
    UNIQUE (entity, code)
);

-- Values of custom fields. value holds the canonical text; num is set for
-- number fields (and dates as YYYYMMDD) so ranges use an index.
CREATE TABLE custom_values (
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    value TEXT NOT NULL,
    num {{float}},
    PRIMARY KEY (entity, record_id, code)
);
CREATE INDEX custom_values_value ON custom_values (entity, code, value);
CREATE INDEX custom_values_num ON custom_values (entity, code, num);

-- PHONE / EMAIL / IM / WEB multi-fields of leads, contacts and accounts.
CREATE TABLE comms (
    id {{rowid}},
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    value_type TEXT NOT NULL,
    normalized TEXT NOT NULL,
    sort INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX comms_record ON comms (entity, record_id);
CREATE INDEX comms_lookup ON comms (kind, normalized, entity);

-- Ids of a record in other systems (1C, Bitrix24, retailCRM …).
CREATE TABLE external_ids (
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    system TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (entity, system, external_id),
    UNIQUE (entity, record_id, system)
);

CREATE TABLE accounts (
    id {{id}},
    title TEXT NOT NULL,
    full_name TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'legal',
    company_type TEXT NOT NULL DEFAULT '',
    industry TEXT NOT NULL DEFAULT '',
    inn TEXT NOT NULL DEFAULT '',
    kpp TEXT NOT NULL DEFAULT '',
    ogrn TEXT NOT NULL DEFAULT '',
    legal_address TEXT NOT NULL DEFAULT '{}',
    actual_address TEXT NOT NULL DEFAULT '{}',
    comments TEXT NOT NULL DEFAULT '',
    source_id TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX accounts_inn ON accounts (inn);
CREATE INDEX accounts_title ON accounts (title);
CREATE INDEX accounts_created ON accounts (created_at, id);
CREATE INDEX accounts_assigned ON accounts (assigned_by_id);

CREATE TABLE requisites (
    id {{id}},
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name TEXT NOT NULL DEFAULT '',
    full_name TEXT NOT NULL DEFAULT '',
    inn TEXT NOT NULL DEFAULT '',
    kpp TEXT NOT NULL DEFAULT '',
    ogrn TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX requisites_account ON requisites (account_id, id);

CREATE TABLE bank_details (
    id {{id}},
    requisite_id BIGINT NOT NULL REFERENCES requisites(id),
    name TEXT NOT NULL DEFAULT '',
    bik TEXT NOT NULL DEFAULT '',
    bank TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    corr_account TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bank_details_requisite ON bank_details (requisite_id, id);

CREATE TABLE contacts (
    id {{id}},
    honorific TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    second_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    position TEXT NOT NULL DEFAULT '',
    birthdate TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    other_address TEXT NOT NULL DEFAULT '{}',
    source_id TEXT NOT NULL DEFAULT '',
    source_description TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    lead_id BIGINT NOT NULL DEFAULT 0,
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX contacts_last_name ON contacts (last_name);
CREATE INDEX contacts_created ON contacts (created_at, id);
CREATE INDEX contacts_assigned ON contacts (assigned_by_id);

CREATE TABLE contact_accounts (
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    sort INTEGER NOT NULL DEFAULT 0,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (contact_id, account_id)
);
CREATE INDEX contact_accounts_account ON contact_accounts (account_id);

CREATE TABLE leads (
    id {{id}},
    title TEXT NOT NULL DEFAULT '',
    honorific TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    second_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    company_title TEXT NOT NULL DEFAULT '',
    position TEXT NOT NULL DEFAULT '',
    birthdate TEXT NOT NULL DEFAULT '',
    source_id TEXT NOT NULL DEFAULT '',
    source_description TEXT NOT NULL DEFAULT '',
    status_id TEXT NOT NULL DEFAULT 'NEW',
    status_description TEXT NOT NULL DEFAULT '',
    opportunity BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    comments TEXT NOT NULL DEFAULT '',
    utm_source TEXT NOT NULL DEFAULT '',
    utm_medium TEXT NOT NULL DEFAULT '',
    utm_campaign TEXT NOT NULL DEFAULT '',
    utm_content TEXT NOT NULL DEFAULT '',
    utm_term TEXT NOT NULL DEFAULT '',
    ga_client_id TEXT NOT NULL DEFAULT '',
    ym_client_id TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    contact_id BIGINT NOT NULL DEFAULT 0,
    account_id BIGINT NOT NULL DEFAULT 0,
    deal_id BIGINT NOT NULL DEFAULT 0,
    converted_at BIGINT NOT NULL DEFAULT 0,
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX leads_status ON leads (status_id);
CREATE INDEX leads_created ON leads (created_at, id);
CREATE INDEX leads_assigned ON leads (assigned_by_id);

CREATE TABLE deals (
    id {{id}},
    title TEXT NOT NULL,
    category_id BIGINT NOT NULL DEFAULT 0,
    stage_id TEXT NOT NULL DEFAULT 'NEW',
    opportunity BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    probability INTEGER NOT NULL DEFAULT 0,
    account_id BIGINT NOT NULL DEFAULT 0,
    lead_id BIGINT NOT NULL DEFAULT 0,
    source_id TEXT NOT NULL DEFAULT '',
    source_description TEXT NOT NULL DEFAULT '',
    utm_source TEXT NOT NULL DEFAULT '',
    utm_medium TEXT NOT NULL DEFAULT '',
    utm_campaign TEXT NOT NULL DEFAULT '',
    utm_content TEXT NOT NULL DEFAULT '',
    utm_term TEXT NOT NULL DEFAULT '',
    begin_date TEXT NOT NULL DEFAULT '',
    close_date TEXT NOT NULL DEFAULT '',
    closed BOOLEAN NOT NULL DEFAULT FALSE,
    won BOOLEAN NOT NULL DEFAULT FALSE,
    comments TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deals_stage ON deals (category_id, stage_id);
CREATE INDEX deals_account ON deals (account_id);
CREATE INDEX deals_created ON deals (created_at, id);
CREATE INDEX deals_assigned ON deals (assigned_by_id);

CREATE TABLE deal_contacts (
    deal_id BIGINT NOT NULL REFERENCES deals(id),
    contact_id BIGINT NOT NULL REFERENCES contacts(id),
    sort INTEGER NOT NULL DEFAULT 0,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (deal_id, contact_id)
);
CREATE INDEX deal_contacts_contact ON deal_contacts (contact_id);

CREATE TABLE products (
    id {{id}},
    name TEXT NOT NULL,
    article TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    price BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    vat_rate BIGINT,
    vat_included BOOLEAN NOT NULL DEFAULT TRUE,
    stock BIGINT NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX products_name_article ON products (name, article);
CREATE INDEX products_created ON products (created_at, id);

CREATE TABLE services (
    id {{id}},
    name TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    price BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    vat_rate BIGINT,
    vat_included BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX services_name ON services (name);
CREATE INDEX services_created ON services (created_at, id);

CREATE TABLE catalogs (
    id {{id}},
    name TEXT NOT NULL,
    parent_id BIGINT NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX catalogs_created ON catalogs (created_at, id);

CREATE TABLE catalog_items (
    catalog_id BIGINT NOT NULL REFERENCES catalogs(id),
    item_type TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    PRIMARY KEY (catalog_id, item_type, item_id)
);
CREATE INDEX catalog_items_item ON catalog_items (item_type, item_id);

-- Product rows of leads and deals, line items of sales orders and invoices.
CREATE TABLE line_items (
    id {{rowid}},
    owner_type TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL DEFAULT 0,
    service_id BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    price BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    discount_rate BIGINT NOT NULL DEFAULT 0,
    discount BIGINT NOT NULL DEFAULT 0,
    vat_rate BIGINT,
    vat_included BOOLEAN NOT NULL DEFAULT TRUE,
    sum BIGINT NOT NULL,
    tax BIGINT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    sort INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX line_items_owner ON line_items (owner_type, owner_id, sort);

CREATE TABLE sales_orders (
    id {{id}},
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'Created',
    order_date TEXT NOT NULL DEFAULT '',
    account_id BIGINT NOT NULL DEFAULT 0,
    contact_id BIGINT NOT NULL DEFAULT 0,
    deal_id BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    subtotal BIGINT NOT NULL DEFAULT 0,
    discount BIGINT NOT NULL DEFAULT 0,
    tax BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    from_site TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sales_orders_account ON sales_orders (account_id);
CREATE INDEX sales_orders_created ON sales_orders (created_at, id);
CREATE INDEX sales_orders_updated ON sales_orders (updated_at, id);

CREATE TABLE invoices (
    id {{id}},
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'N',
    invoice_date TEXT NOT NULL DEFAULT '',
    due_date TEXT NOT NULL DEFAULT '',
    deal_id BIGINT NOT NULL DEFAULT 0,
    account_id BIGINT NOT NULL DEFAULT 0,
    contact_id BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'RUB',
    subtotal BIGINT NOT NULL DEFAULT 0,
    discount BIGINT NOT NULL DEFAULT 0,
    tax BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    payment_url TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX invoices_deal ON invoices (deal_id);
CREATE INDEX invoices_created ON invoices (created_at, id);

CREATE TABLE tickets (
    id {{id}},
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Open',
    priority TEXT NOT NULL DEFAULT 'normal',
    category TEXT NOT NULL DEFAULT '',
    account_id BIGINT NOT NULL DEFAULT 0,
    contact_id BIGINT NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tickets_created ON tickets (created_at, id);

CREATE TABLE activities (
    id {{id}},
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    start_at BIGINT NOT NULL DEFAULT 0,
    end_at BIGINT NOT NULL DEFAULT 0,
    owner_type TEXT NOT NULL DEFAULT '',
    owner_id BIGINT NOT NULL DEFAULT 0,
    direction TEXT NOT NULL DEFAULT '',
    comm_value TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT 'normal',
    done BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at BIGINT NOT NULL DEFAULT 0,
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX activities_calendar ON activities (assigned_by_id, start_at);
CREATE INDEX activities_owner ON activities (owner_type, owner_id);
CREATE INDEX activities_created ON activities (created_at, id);

-- Timeline comments on any record.
CREATE TABLE comments (
    id {{id}},
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX comments_record ON comments (entity, record_id, id);

-- The change-event log: ids in commit order, see internal/events.
CREATE TABLE events (
    id BIGINT PRIMARY KEY,
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_user_id BIGINT NOT NULL DEFAULT 0,
    integration TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX events_record ON events (entity, record_id, id);

-- Idempotency-Key of POST requests: the first answer, replayed to retries.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Seed dictionaries.
INSERT INTO currencies (code, name, active, base, rate, sort) VALUES ('RUB', 'Российский рубль', TRUE, TRUE, 10000, 10);
INSERT INTO currencies (code, name, active, base, rate, sort) VALUES ('USD', 'Доллар США', TRUE, FALSE, 800000, 20);
INSERT INTO currencies (code, name, active, base, rate, sort) VALUES ('EUR', 'Евро', TRUE, FALSE, 900000, 30);
INSERT INTO units (name, title, okei) VALUES ('шт', 'Штука', '796');
INSERT INTO units (name, title, okei) VALUES ('кг', 'Килограмм', '166');
INSERT INTO units (name, title, okei) VALUES ('м', 'Метр', '006');
INSERT INTO units (name, title, okei) VALUES ('м2', 'Квадратный метр', '055');
INSERT INTO units (name, title, okei) VALUES ('л', 'Литр', '112');
INSERT INTO units (name, title, okei) VALUES ('ч', 'Час', '356');
INSERT INTO units (name, title, okei) VALUES ('усл', 'Условная единица', '876');
INSERT INTO pipelines (id, name, sort, is_default) VALUES (0, 'Общая', 10, TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('STATUS', 'NEW', 'Не обработан', 10, '', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('STATUS', 'IN_PROCESS', 'В работе', 20, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('STATUS', 'PROCESSED', 'Обработан', 30, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('STATUS', 'CONVERTED', 'Качественный лид', 40, 'S', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('STATUS', 'JUNK', 'Некачественный лид', 50, 'F', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'NEW', 'Новая', 10, '', 0, TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'PREPARATION', 'Подготовка документов', 20, '', 0, FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'PREPAYMENT_INVOICE', 'Счёт на предоплату', 30, '', 0, FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'EXECUTING', 'В работе', 40, '', 0, FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'FINAL_INVOICE', 'Финальный счёт', 50, '', 0, FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'WON', 'Сделка успешна', 60, 'S', 0, TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, pipeline_id, system) VALUES ('DEAL_STAGE', 'LOSE', 'Сделка провалена', 70, 'F', 0, TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'CALL', 'Звонок', 10, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'EMAIL', 'Электронная почта', 20, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'WEB', 'Веб-сайт', 30, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'WEBFORM', 'CRM-форма', 40, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'ADVERTISING', 'Реклама', 50, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'PARTNER', 'Существующий клиент', 60, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('SOURCE', 'OTHER', 'Другое', 70, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('ORDER_STATUS', 'Created', 'Создан', 10, '', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('ORDER_STATUS', 'Approved', 'Одобрен', 20, '', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('ORDER_STATUS', 'Delivered', 'Доставлен', 30, 'S', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('ORDER_STATUS', 'Cancelled', 'Отменён', 40, 'F', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('INVOICE_STATUS', 'N', 'Новый', 10, '', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('INVOICE_STATUS', 'S', 'Отправлен клиенту', 20, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('INVOICE_STATUS', 'P', 'Оплачен', 30, 'S', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('INVOICE_STATUS', 'D', 'Отклонён', 40, 'F', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('TICKET_STATUS', 'Open', 'Открыта', 10, '', TRUE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('TICKET_STATUS', 'In Progress', 'В работе', 20, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('TICKET_STATUS', 'Wait For Response', 'Ожидает ответа', 30, '', FALSE);
INSERT INTO statuses (entity_id, status_id, name, sort, semantics, system) VALUES ('TICKET_STATUS', 'Closed', 'Закрыта', 40, 'S', TRUE);
INSERT INTO settings (key, value) VALUES ('sales_order.prefix', 'SO-');
INSERT INTO settings (key, value) VALUES ('invoice.prefix', 'INV-');
INSERT INTO counters (name, value) VALUES ('sales_order', 0);
INSERT INTO counters (name, value) VALUES ('invoice', 0);
