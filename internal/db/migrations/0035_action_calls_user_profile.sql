-- Direct calls of automation actions (POST /api/v1/actions/{name}, issue
-- 14): one row per call with its input (secrets masked), output, result
-- (OK | ERROR) and error, kept as long as the bundles' run journal.
-- idem_key is the caller's Idempotency-Key ('' when none): a repeat with
-- the same key answers the stored response (status, body); request_hash
-- tells a repeat from another request reusing the key.
CREATE TABLE automation_action_calls (
    id {{id}},
    action TEXT NOT NULL,
    user_id BIGINT NOT NULL DEFAULT 0,
    key_id BIGINT NOT NULL DEFAULT 0,
    idem_key TEXT NOT NULL DEFAULT '',
    request_hash TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL,
    input TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    http_status INTEGER NOT NULL DEFAULT 200,
    response TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    duration_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX automation_action_calls_started ON automation_action_calls (started_at, id);
CREATE INDEX automation_action_calls_action ON automation_action_calls (action, started_at);
CREATE UNIQUE INDEX automation_action_calls_idem ON automation_action_calls (user_id, idem_key) WHERE idem_key <> '';

-- The action-call journal lists bundle steps by action too.
CREATE INDEX automation_run_steps_action ON automation_run_steps (action, started_at);

-- The user profile of seed 003's "user info": what Obmen keeps beyond the
-- users row, as one JSON object (crm.UserProfile); last_seen_at is the
-- last signed-in request (session or API key, recorded once a minute),
-- which makes "online now".
CREATE TABLE user_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    profile TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL
);
ALTER TABLE users ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
