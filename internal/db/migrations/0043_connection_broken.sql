-- A connection the remote side refuses (a webhook deleted, a token whose
-- renewal was refused, a password changed): when it broke, in the remote
-- side's words (issue 16). 0 and '' while it works; a check or a call that
-- succeeds clears both. The administrators' notification (internal/notify)
-- is made once per break: its dedup key names broken_at.
ALTER TABLE connections ADD COLUMN broken_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN broken_reason TEXT NOT NULL DEFAULT '';
