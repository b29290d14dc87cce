-- Per-user preferences of the web UI (internal/store/prefs.go): the
-- user's time zone ("time_zone"), each list's remembered sort, filters
-- and columns ("list:<entity>", a query string) and saved filters
-- ("filter:<entity>:<name>", a query string). The installation's time
-- zone is the setting "time_zone".
CREATE TABLE user_prefs (
    user_id BIGINT NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
