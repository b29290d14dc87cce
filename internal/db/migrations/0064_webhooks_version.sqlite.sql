-- The dispatchers keep the active webhooks in memory and read them again
-- only when this number has moved (issue 21: reading them was a statement
-- of every dispatch). Every write to outbound_webhooks moves it, in its
-- own transaction, whoever makes it.
CREATE TABLE outbound_webhooks_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO outbound_webhooks_version (id, version) VALUES (1, 1);
CREATE TRIGGER outbound_webhooks_bump_insert AFTER INSERT ON outbound_webhooks
BEGIN
    UPDATE outbound_webhooks_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER outbound_webhooks_bump_update AFTER UPDATE ON outbound_webhooks
BEGIN
    UPDATE outbound_webhooks_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER outbound_webhooks_bump_delete AFTER DELETE ON outbound_webhooks
BEGIN
    UPDATE outbound_webhooks_version SET version = version + 1 WHERE id = 1;
END;
