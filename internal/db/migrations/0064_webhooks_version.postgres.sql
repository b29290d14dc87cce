-- The dispatchers keep the active webhooks in memory and read them again
-- only when this number has moved (issue 21: reading them was a round trip
-- of every dispatch). Every statement that writes outbound_webhooks moves
-- it, in its own transaction, whoever runs it — Obmen, another instance,
-- an operator in psql.
CREATE TABLE outbound_webhooks_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO outbound_webhooks_version (id, version) VALUES (1, 1);
CREATE FUNCTION outbound_webhooks_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbound_webhooks_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER outbound_webhooks_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON outbound_webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION outbound_webhooks_bump();
