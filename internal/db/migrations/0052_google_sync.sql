-- Two-way sync of a user's contacts and calendar with Google (issue 22,
-- internal/connector/google). One row of google_syncs per user: the
-- Google account it is connected to (refresh and access tokens sealed by
-- the secrets box), the sync's settings as JSON (what, direction, field
-- mapping, conflict rule), the pending OAuth state (its SHA-256 and until
-- when it is good), the sync tokens of the People and Calendar APIs, the
-- last change event of the CRM covered by each side (contacts_cursor,
-- calendar_cursor; -1 before the first run, which sends everything),
-- when the schedule runs it next (due_at; claimed by compare-and-set, a
-- run holds a lock per user) and the last result as JSON.
CREATE TABLE google_syncs (
    id {{id}},
    user_id BIGINT NOT NULL,
    connection_id BIGINT NOT NULL DEFAULT 0,
    account TEXT NOT NULL DEFAULT '',
    refresh_token TEXT NOT NULL DEFAULT '',
    access_token TEXT NOT NULL DEFAULT '',
    token_expiry BIGINT NOT NULL DEFAULT 0,
    settings TEXT NOT NULL DEFAULT '{}',
    oauth_state TEXT NOT NULL DEFAULT '',
    oauth_state_until BIGINT NOT NULL DEFAULT 0,
    people_token TEXT NOT NULL DEFAULT '',
    calendar_token TEXT NOT NULL DEFAULT '',
    contacts_cursor BIGINT NOT NULL DEFAULT -1,
    calendar_cursor BIGINT NOT NULL DEFAULT -1,
    due_at BIGINT NOT NULL DEFAULT 0,
    last_run_at BIGINT NOT NULL DEFAULT 0,
    last_result TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id)
);

-- A CRM record and its twin in Google: kind is contact (resourceName
-- people/c…) or event (an event id of the primary calendar). etag is the
-- twin's last known ETag; local_hash and remote_hash are the hashes of the
-- mapped fields as last synced on each side, so that a run tells which
-- side changed since; remote_extra keeps what the CRM has no field for
-- and must go back unchanged (an event's RRULE/EXDATE lines). A resync
-- finds its pairs here and creates no duplicates; removing the sync
-- deletes the links, never the records.
CREATE TABLE google_links (
    sync_id BIGINT NOT NULL REFERENCES google_syncs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    remote_id TEXT NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    local_hash TEXT NOT NULL DEFAULT '',
    remote_hash TEXT NOT NULL DEFAULT '',
    remote_extra TEXT NOT NULL DEFAULT '',
    synced_at BIGINT NOT NULL,
    PRIMARY KEY (sync_id, kind, record_id),
    UNIQUE (sync_id, kind, remote_id)
);
