-- Requisites (legal details) of accounts and now also of contacts, with
-- the fields Russian companies fill in Bitrix24 (RQ_*), and their bank
-- details. Migration 0001 tied requisites to accounts by a foreign key,
-- which a contact's requisite cannot satisfy, so both tables are rebuilt:
-- the old rows are copied with their ids (other systems refer to them) and
-- the old tables dropped. Owners are (entity, record_id) as in comms:
-- entity is 'account' or 'contact'. INNs are kept digits only (validated
-- by crm.ValidINN) and indexed, so that a find-by-INN of accounts also
-- finds accounts through their requisites. preset_id is Bitrix24's
-- standard preset: 1 organisation, 2 sole proprietor, 3 private person.
DROP INDEX bank_details_requisite;
DROP INDEX requisites_account;
ALTER TABLE bank_details RENAME TO bank_details_0001;
ALTER TABLE requisites RENAME TO requisites_0001;

CREATE TABLE requisites (
    id {{id}},
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    preset_id BIGINT NOT NULL DEFAULT 1,
    name TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort INTEGER NOT NULL DEFAULT 500,
    xml_id TEXT NOT NULL DEFAULT '',
    inn TEXT NOT NULL DEFAULT '',
    kpp TEXT NOT NULL DEFAULT '',
    ogrn TEXT NOT NULL DEFAULT '',
    ogrnip TEXT NOT NULL DEFAULT '',
    okpo TEXT NOT NULL DEFAULT '',
    company_name TEXT NOT NULL DEFAULT '',
    company_full_name TEXT NOT NULL DEFAULT '',
    director TEXT NOT NULL DEFAULT '',
    accountant TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    second_name TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    created_by_id BIGINT NOT NULL DEFAULT 0,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE bank_details (
    id {{id}},
    requisite_id BIGINT NOT NULL REFERENCES requisites(id),
    name TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort INTEGER NOT NULL DEFAULT 500,
    xml_id TEXT NOT NULL DEFAULT '',
    bik TEXT NOT NULL DEFAULT '',
    bank TEXT NOT NULL DEFAULT '',
    bank_address TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    corr_account TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    created_by_id BIGINT NOT NULL DEFAULT 0,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL DEFAULT 0
);

INSERT INTO requisites (id, entity, record_id, name, inn, kpp, ogrn, company_full_name, address, created_at, updated_at)
    SELECT id, 'account', account_id, name, inn, kpp, ogrn, full_name, address, created_at, created_at FROM requisites_0001;
INSERT INTO bank_details (id, requisite_id, name, bik, bank, account, corr_account)
    SELECT id, requisite_id, name, bik, bank, account, corr_account FROM bank_details_0001;
DROP TABLE bank_details_0001;
DROP TABLE requisites_0001;

CREATE INDEX requisites_record ON requisites (entity, record_id, sort, id);
CREATE INDEX requisites_inn ON requisites (inn, entity);
CREATE INDEX bank_details_requisite ON bank_details (requisite_id, sort, id);
