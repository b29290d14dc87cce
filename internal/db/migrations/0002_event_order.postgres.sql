-- PostgreSQL: event ids in commit order without a lock held across round
-- trips to the client. A writer inserts its events with a provisional
-- negative id; a deferred constraint trigger gives each its real id at
-- COMMIT, under a transaction-level advisory lock. The lock is released
-- only after the commit is visible, so ids become visible in id order and
-- a reader paging by id never skips one. A rolled-back transaction never
-- reaches the trigger and takes no id.
CREATE SEQUENCE event_provisional;
CREATE SEQUENCE event_order;
SELECT setval('event_order', GREATEST((SELECT COALESCE(MAX(id), 0) FROM events), 1), (SELECT COUNT(*) > 0 FROM events));
CREATE FUNCTION obmen_event_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7310002);
    UPDATE events SET id = nextval('event_order') WHERE id = NEW.id;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER events_commit_order AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.id < 0)
    EXECUTE FUNCTION obmen_event_order();
