-- One journal for what every connection receives from its service
-- (webhook calls, polled updates, telephony notifications), instead of a
-- table per connector: the rows of telephony_journal, telegram_journal,
-- vk_journal and channel_journal (Facebook) move here, oldest first.
CREATE TABLE connection_journal (
    id {{id}},
    connection_id BIGINT NOT NULL,
    event TEXT NOT NULL DEFAULT '',
    ref TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    record_id BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX connection_journal_connection ON connection_journal (connection_id, id);

INSERT INTO connection_journal (connection_id, event, ref, outcome, record_id, error, created_at)
SELECT connection_id, event, ref, outcome, record_id, error, created_at FROM (
    SELECT connection_id, event, call_id AS ref, outcome, activity_id AS record_id, error, created_at, id AS old FROM telephony_journal
    UNION ALL
    SELECT connection_id, '', CASE WHEN update_id = 0 THEN '' ELSE CAST(update_id AS TEXT) END, outcome, message_id, error, created_at, id FROM telegram_journal
    UNION ALL
    SELECT connection_id, event_type, event_id, outcome, message_id, error, created_at, id FROM vk_journal
    UNION ALL
    SELECT connection_id, '', event_id, outcome, message_id, error, created_at, id FROM channel_journal
) AS j ORDER BY created_at, connection_id, old;

DROP TABLE telephony_journal;
DROP TABLE telegram_journal;
DROP TABLE vk_journal;
DROP TABLE channel_journal;
