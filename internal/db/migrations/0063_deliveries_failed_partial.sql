-- Failed-delivery alerts (notify) read the deliveries that failed lately;
-- 0021's index on (status, updated_at) held every delivery, so each one
-- cost an entry when dispatched and another at each attempt recorded
-- (issue 21: a delivery's writes are most of what a webhook adds to a
-- change). Only the failed ones are ever looked up by it: the index now
-- holds those alone and serves the same query.
CREATE INDEX deliveries_failed_at ON deliveries (updated_at) WHERE status = 'failed';
DROP INDEX deliveries_failed;
