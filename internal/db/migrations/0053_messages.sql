-- Messages with clients (issue 23, seed 000 "Интеграция с социальными
-- сетями"): one row per message to or from a client in a messenger or a
-- social network, linked to a lead, account or contact (owner_type,
-- owner_id). A record moved to the recycle bin keeps its messages linked,
-- so that restoring it brings them back; purging it unlinks them (they
-- stay). attachments is a JSON array of crm.Attachment.
CREATE TABLE messages (
    id {{id}},
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    connection_id BIGINT NOT NULL DEFAULT 0,
    handle TEXT NOT NULL DEFAULT '',
    chat_id TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    attachments TEXT NOT NULL DEFAULT '[]',
    sent_at BIGINT NOT NULL DEFAULT 0,
    author TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    retry_at BIGINT NOT NULL DEFAULT 0,
    owner_type TEXT NOT NULL DEFAULT '',
    owner_id BIGINT NOT NULL DEFAULT 0,
    search TEXT NOT NULL DEFAULT '',
    assigned_by_id BIGINT NOT NULL,
    created_by_id BIGINT NOT NULL,
    updated_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL DEFAULT 0,
    deleted_by_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX messages_owner ON messages (owner_type, owner_id, created_at);
CREATE INDEX messages_created ON messages (created_at, id);
-- A message the channel delivered twice (Telegram retries a webhook it
-- got no 2xx for; two instances polling) is stored once.
CREATE UNIQUE INDEX messages_external ON messages (channel, connection_id, chat_id, external_id) WHERE external_id <> '';
-- Outgoing messages waiting for their (next) attempt.
CREATE INDEX messages_outbox ON messages (status, retry_at) WHERE direction = 'out';

-- Long polling of a Telegram bot (getUpdates) when the server has no
-- public URL for the webhook: the offset of the next update, and a lease
-- so that one instance at a time polls a bot (Telegram answers one
-- getUpdates per bot; a second one gets 409 Conflict).
CREATE TABLE telegram_polls (
    connection_id BIGINT PRIMARY KEY,
    next_offset BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0
);

-- What each Telegram connection received: every webhook call and polled
-- update, refused ones included (a wrong secret token), newest last.
CREATE TABLE telegram_journal (
    id {{id}},
    connection_id BIGINT NOT NULL,
    update_id BIGINT NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    message_id BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX telegram_journal_connection ON telegram_journal (connection_id, id);
