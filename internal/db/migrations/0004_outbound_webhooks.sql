-- Outbound webhooks and their delivery journal (internal/delivery).
-- kind is 'bitrix' (Bitrix24 form posts) or 'native' (signed JSON); events
-- is a comma list of Bitrix24 codes or entity.action patterns; token is
-- sealed by secret.Box (the application token, or the HMAC secret).
CREATE TABLE outbound_webhooks (
    id {{id}},
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    token TEXT NOT NULL DEFAULT '',
    integration TEXT NOT NULL DEFAULT '',
    include_echo BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per (webhook, event): the unique pair is what makes dispatching
-- idempotent.
CREATE TABLE deliveries (
    id {{id}},
    webhook_id BIGINT NOT NULL REFERENCES outbound_webhooks(id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT NOT NULL DEFAULT 0,
    UNIQUE (webhook_id, event_id)
);
-- Per-record order: is an earlier delivery of this record still pending?
CREATE INDEX deliveries_record ON deliveries (webhook_id, entity, record_id, event_id);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);

CREATE TABLE delivery_attempts (
    id {{rowid}},
    delivery_id BIGINT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    latency_ms BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    response_excerpt TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- How far each reader of the event log has got.
CREATE TABLE outbox_cursors (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL
);
