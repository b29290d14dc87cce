-- Bitrix24-compatible incoming webhooks: https://HOST/rest/{user_id}/{code}/.
-- Only the SHA-256 (hex) of the secret code is kept; the code is shown
-- once, when the webhook is made. scopes is a comma list (crm,user).
CREATE TABLE bitrix_webhooks (
    id {{id}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL DEFAULT '',
    code_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bitrix_webhooks_user ON bitrix_webhooks (user_id);
