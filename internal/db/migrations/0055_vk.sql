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
