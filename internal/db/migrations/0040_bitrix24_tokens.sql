-- The OAuth tokens of bitrix24 connections (issue 16). Bitrix24 hands out
-- a new refresh token with every access token and the old one stops
-- working, so the pair is kept here, sealed by the secrets box, instead of
-- rewriting the connection's settings every hour. seed is the SHA-256 of
-- the application and the refresh token in the connection's settings the
-- pair descends from: a user who enters a new one there starts a new line,
-- and a check of settings not yet saved shares the line of the saved ones.
CREATE TABLE bitrix24_tokens (
    seed TEXT NOT NULL PRIMARY KEY,
    access_token TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
