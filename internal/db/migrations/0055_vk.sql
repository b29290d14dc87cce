-- What each VK connection received through the Callback API: every
-- notification, refused ones included (a wrong secret key), newest last.
-- event_id is VK's id of the notification (a retried delivery repeats it).
CREATE TABLE vk_journal (
    id {{id}},
    connection_id BIGINT NOT NULL,
    event_id TEXT NOT NULL DEFAULT '',
    event_type TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    message_id BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX vk_journal_connection ON vk_journal (connection_id, id);

-- Files users attach to their messages to clients (the card's reply box):
-- kept here until and after the channel has them, served back on the
-- message's card. A message's attachment names its file by local_id;
-- message_id is that message once written (0 before): a file is attached
-- to one message only, and served only with it.
CREATE TABLE message_files (
    id {{id}},
    message_id BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data {{blob}} NOT NULL,
    created_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
