-- Lead intake (internal/intake): the journal of every form submit, HTTP
-- post and mail message; the keys of mail messages already turned into a
-- lead (exactly once across crashes); IMAP collectors; web forms.

-- source is 'http', 'mail' or 'form'; outcome 'created', 'duplicate',
-- 'failed' or 'skipped'. entity/record_id name what was created; field
-- and error what was at fault.
CREATE TABLE intake_journal (
    id {{id}},
    source TEXT NOT NULL,
    source_id BIGINT NOT NULL DEFAULT 0,
    ref TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    entity TEXT NOT NULL DEFAULT '',
    record_id BIGINT NOT NULL DEFAULT 0,
    field TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX intake_journal_source ON intake_journal (source, source_id, id);

-- A mail message becomes a lead once: its key is written in the lead's
-- transaction. mailbox is login@host:port/folder.
CREATE TABLE intake_mail_keys (
    mailbox TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid BIGINT NOT NULL,
    message_id TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    journal_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (mailbox, uid_validity, uid)
);
CREATE INDEX intake_mail_keys_message ON intake_mail_keys (mailbox, message_id);

-- IMAP collectors; password is sealed by secret.Box.
CREATE TABLE intake_collectors (
    id {{id}},
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    kind TEXT NOT NULL DEFAULT 'site_requests',
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    security TEXT NOT NULL DEFAULT 'tls',
    login TEXT NOT NULL,
    password TEXT NOT NULL DEFAULT '',
    folder TEXT NOT NULL DEFAULT 'INBOX',
    user_id BIGINT NOT NULL,
    keyword TEXT NOT NULL DEFAULT 'ORDER',
    processed_folder TEXT NOT NULL DEFAULT '',
    failed_folder TEXT NOT NULL DEFAULT '',
    delete_after_days INTEGER NOT NULL DEFAULT 0,
    last_run_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    -- A run holds the collector until then (unix microseconds): one run
    -- at a time across instances.
    lease_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Web forms; fields and allowed_origins are JSON.
CREATE TABLE webforms (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    user_id BIGINT NOT NULL,
    module TEXT NOT NULL,
    return_url TEXT NOT NULL DEFAULT '',
    captcha BOOLEAN NOT NULL DEFAULT FALSE,
    fields TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
