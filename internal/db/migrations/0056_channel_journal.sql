-- What became of each webhook delivery of the message channels that have
-- no journal of their own (Facebook now): the refused ones too, with why.
-- event_id is the channel's id of the delivery or message (a Facebook
-- mid), "" when the request was refused before it was read.
CREATE TABLE channel_journal (
    id {{id}},
    channel TEXT NOT NULL,
    connection_id BIGINT NOT NULL,
    event_id TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    message_id BIGINT NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX channel_journal_connection ON channel_journal (channel, connection_id, id);
