-- A connection's hook URL (issue 15): the remote system pushes to
-- /hooks/c/{token}. Only the token's SHA-256 is kept: it is shown once
-- when made, and made anew to replace it; '' none.
ALTER TABLE connections ADD COLUMN hook_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN hook_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX connections_hook_hash ON connections (hook_hash) WHERE hook_hash <> '';
