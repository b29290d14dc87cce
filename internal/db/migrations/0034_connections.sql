-- Connections (issue 15, internal/connection): named, saved accounts of
-- external systems that connectors' steps refer to by id. settings is the
-- type's JSON with its secret fields sealed by secret.Box; dictionaries
-- is what the type's "refresh" last loaded from the remote system.
CREATE TABLE connections (
    id {{id}},
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    dictionaries TEXT NOT NULL DEFAULT '',
    refreshed_at BIGINT NOT NULL DEFAULT 0,
    created_by_id BIGINT NOT NULL DEFAULT 0,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (name)
);

-- Letters sent by email.send (internal/connector/smtp): a step's
-- idempotency key and the result the server accepted, so that a retried
-- step does not send its letter twice.
CREATE TABLE email_sent (
    idem_key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    result TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
