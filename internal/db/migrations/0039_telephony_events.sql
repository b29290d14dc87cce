-- Calls the telephony providers tell of (issue 14) are call activities;
-- what the providers tell beyond an activity's own fields is kept on it.
ALTER TABLE activities ADD COLUMN call_status TEXT NOT NULL DEFAULT '';
ALTER TABLE activities ADD COLUMN call_from TEXT NOT NULL DEFAULT '';
ALTER TABLE activities ADD COLUMN call_to TEXT NOT NULL DEFAULT '';
ALTER TABLE activities ADD COLUMN call_line TEXT NOT NULL DEFAULT '';
ALTER TABLE activities ADD COLUMN call_duration BIGINT NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN recording_url TEXT NOT NULL DEFAULT '';

-- Each provider's call (by the connection and the provider's id of it)
-- and the activity it became, with the call as merged from every
-- notification so far: a notification sent again changes nothing.
CREATE TABLE telephony_call_log (
    connection_id BIGINT NOT NULL,
    call_id TEXT NOT NULL,
    activity_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, call_id)
);

-- The journal of every notification received: outcome is 'created',
-- 'updated', 'repeat', 'ignored' or 'failed' (error says why).
CREATE TABLE telephony_journal (
    id {{id}},
    connection_id BIGINT NOT NULL,
    event TEXT NOT NULL,
    call_id TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    activity_id BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX telephony_journal_connection ON telephony_journal (connection_id, id);
