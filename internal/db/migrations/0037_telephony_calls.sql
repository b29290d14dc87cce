-- The callbacks call.callback ordered, by the step's idempotency key: a
-- retried step finds its call here and does not order a second one.
CREATE TABLE telephony_calls (
    idem_key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    call_id TEXT NOT NULL,
    result TEXT NOT NULL,
    called_at BIGINT NOT NULL
);
