-- Russian addresses from ФИАС/ГАР (issue 24), imported by
-- `obmen address import` for offline suggestions.
--
-- address_objects holds the actual, active record of each address object
-- (AS_ADDR_OBJ) and house (AS_HOUSES) of the imported regions, keyed by
-- the ГАР OBJECTID (global across both files). record_id is the ГАР
-- record ID that is current, so that a delta's non-actual record
-- deactivates the object only when it is the record we hold. parent_id
-- comes from AS_ADM_HIERARCHY, kladr and postcode from the *_PARAMS files
-- (types 10 and 5). kind: 1 place (levels 1–6), 2 street (7, 8), 3 house.
-- A deactivated object keeps its row (and parent) but loses its keys.
CREATE TABLE address_objects (
    object_id BIGINT PRIMARY KEY,
    record_id BIGINT NOT NULL,
    guid TEXT NOT NULL,
    region INTEGER NOT NULL,
    level INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    type_name TEXT NOT NULL,
    type_key TEXT NOT NULL,
    parent_id BIGINT,
    active INTEGER NOT NULL,
    kladr TEXT NOT NULL DEFAULT '',
    postcode TEXT NOT NULL DEFAULT ''
);
CREATE INDEX address_objects_guid ON address_objects (guid);
CREATE INDEX address_objects_parent ON address_objects (parent_id, level);

-- Search keys: one per word start of an object's normalized name
-- ("карла маркса", "маркса"), the house number for houses. Prefix search
-- is a range scan on (kind, key) or (parent_id, kind, key); on PostgreSQL
-- the key is compared byte-wise (COLLATE "C") so that the range
-- [prefix, prefix+U+10FFFF) is exactly the keys starting with prefix.
CREATE TABLE address_keys (
    key TEXT COLLATE "C" NOT NULL,
    object_id BIGINT NOT NULL,
    kind INTEGER NOT NULL,
    parent_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (object_id, key)
);
CREATE INDEX address_keys_kind ON address_keys (kind, key);
CREATE INDEX address_keys_parent ON address_keys (parent_id, kind, key);

-- Import progress per ГАР file (its path inside the archive or folder):
-- records counts the elements already applied, committed in the same
-- transaction as their batch, so a rerun after a crash skips them.
CREATE TABLE address_import_files (
    name TEXT PRIMARY KEY,
    records BIGINT NOT NULL,
    done INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
