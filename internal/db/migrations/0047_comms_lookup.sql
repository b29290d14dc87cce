-- Find-by-phone and find-by-e-mail (issue 21): the lookup index of 0001
-- also carries the record id, so that "which records have this phone"
-- is answered from the index alone (PostgreSQL: an index-only scan, no
-- heap page per match; SQLite: a covering index). It serves every query
-- the old one did, which goes.
CREATE INDEX comms_lookup_record ON comms (kind, normalized, entity, record_id);
DROP INDEX comms_lookup;
