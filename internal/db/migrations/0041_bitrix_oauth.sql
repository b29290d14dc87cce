-- OAuth 2.0 applications of the Bitrix24-compatible API (issue 16): a
-- local application is registered on an incoming webhook, whose user,
-- scopes, active state and event bindings it shares; it calls
-- /rest/{method}?auth=ACCESS_TOKEN and renews its tokens at /oauth/token/
-- with grant_type=refresh_token, as Bitrix24's authorization server does.
-- Only SHA-256 (hex) hashes of the client secret and of the tokens are
-- kept; a token is looked up by its hash.
CREATE TABLE bitrix_oauth_apps (
    id {{id}},
    webhook_id BIGINT NOT NULL UNIQUE REFERENCES bitrix_webhooks(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- kind: 'access' (one hour), 'refresh' (180 days, used once: a refresh
-- rotates it) or 'code' (an authorization code, 30 seconds, used once).
-- expires_at is unix µs.
CREATE TABLE bitrix_oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES bitrix_oauth_apps(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX bitrix_oauth_tokens_app ON bitrix_oauth_tokens (app_id, kind);
