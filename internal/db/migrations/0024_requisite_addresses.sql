-- Typed addresses of requisites (Bitrix24's crm.address.*, ENTITY_TYPE_ID
-- 8): one address of each type a requisite, in Bitrix24's parts. type_id
-- is Bitrix24's address type: 1 actual, 4 registration, 6 legal, 8 postal,
-- 9 beneficiary, 11 delivery. The legal one (6) is the same address as
-- requisites.address (Obmen's one-JSON address of a requisite): the store
-- keeps the two equal on every write, and the rows below copy the
-- existing non-empty ones (the .sqlite/.postgres files of this number,
-- JSON being read differently by each engine). id is for paging the list;
-- a row is named by (requisite_id, type_id). No foreign key: the store
-- removes a requisite's addresses with it (and a test of 0005 applies
-- this migration before 0005 rebuilds requisites).
CREATE TABLE requisite_addresses (
    id {{id}},
    requisite_id BIGINT NOT NULL,
    type_id INTEGER NOT NULL,
    address_1 TEXT NOT NULL DEFAULT '',
    address_2 TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    province TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    country_code TEXT NOT NULL DEFAULT '',
    loc_addr_id BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX requisite_addresses_type ON requisite_addresses (requisite_id, type_id);
