-- Lists sorted by a custom field walk its values in index order and stop
-- at the page's end; record_id in the index is the sort's tie-breaker and
-- keyset cursor, so neither engine sorts. These replace the indexes on
-- (entity, code, value) and (entity, code, num), of which they are
-- extensions (filters use them the same way).
CREATE INDEX custom_values_value_record ON custom_values (entity, code, value, record_id);
CREATE INDEX custom_values_num_record ON custom_values (entity, code, num, record_id);
DROP INDEX custom_values_value;
DROP INDEX custom_values_num;
