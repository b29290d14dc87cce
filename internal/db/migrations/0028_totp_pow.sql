-- Optional TOTP second sign-in step (internal/totp) and the single-use
-- record of the public web form's proof-of-work challenges.

-- secret: the TOTP key sealed by secret.Box. enabled turns on once the
-- user confirmed a first code; until then the row is a pending
-- enrolment. last_step is the last time step whose code was accepted: a
-- code of that step or an earlier one is refused (replay).
CREATE TABLE user_totp (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT NOT NULL DEFAULT 0
);

-- One-time recovery codes, SHA-256 of the code; used_at 0 while unused.
CREATE TABLE user_totp_recovery (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, code_hash)
);

-- A proof-of-work challenge of a web form once it was spent (id: the
-- challenge's random part), kept until it expires; in the database so
-- that it holds across instances.
CREATE TABLE webform_pow_spent (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webform_pow_spent_expires ON webform_pow_spent (expires_at);

-- A web form's captcha: arithmetic (the default while captcha is on) or
-- proof-of-work (a browser's small hash puzzle, the arithmetic question
-- for a visitor without JavaScript); captcha off makes it 'off'.
ALTER TABLE webforms ADD COLUMN captcha_mode TEXT NOT NULL DEFAULT '';
