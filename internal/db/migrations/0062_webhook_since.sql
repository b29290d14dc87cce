-- A webhook is sent only the changes logged after it was made or last
-- enabled (issue 21): since_event is the log's end at that moment. The
-- dispatchers' one cursor used to stand for it, and left a window — the
-- cursor passes the log while no webhook is active at most once a second,
-- so a webhook enabled again within that second received the changes
-- made while it was off. 0 (webhooks made before this) keeps the old rule.
ALTER TABLE outbound_webhooks ADD COLUMN since_event BIGINT NOT NULL DEFAULT 0;
