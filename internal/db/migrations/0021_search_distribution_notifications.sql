-- Global search (issue 20, point 11): the last 7 digits of a phone find
-- it ("1234567" for +7 916 123-45-67). The expression is the same text
-- in the queries (store/list.go), so that both engines use the index; a
-- phone shorter than 7 digits never equals a 7-digit key on either.
CREATE INDEX comms_phone_tail ON comms ((substr(normalized, length(normalized) - 6)), entity) WHERE kind = 'PHONE';

-- Lead distribution rules (point 13): the first active rule (by sort,
-- then id) whose channel, form and source match a new lead and whose
-- hours contain the moment gives the lead to the next of its users in
-- turn; position is the turn, advanced by an UPDATE … RETURNING in the
-- lead's own transaction, so that two instances never hand out the same
-- turn. hours_from/hours_to are minutes of the day in tz (equal: all
-- day); weekdays is a bit mask, Monday = 1 … Sunday = 64 (0: every day).
-- fallback_user_id takes the lead when none of the users is active.
CREATE TABLE distribution_rules (
    id {{id}},
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sort INTEGER NOT NULL DEFAULT 100,
    channel TEXT NOT NULL DEFAULT '',
    form_id BIGINT NOT NULL DEFAULT 0,
    source_id TEXT NOT NULL DEFAULT '',
    user_ids TEXT NOT NULL DEFAULT '',
    hours_from INTEGER NOT NULL DEFAULT 0,
    hours_to INTEGER NOT NULL DEFAULT 0,
    weekdays INTEGER NOT NULL DEFAULT 0,
    tz TEXT NOT NULL DEFAULT 'Europe/Moscow',
    fallback_user_id BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Notifications (point 12, internal/notify): one row per user and
-- occasion; read_at 0 while unread. dedup names the occasion ("ev:17:3":
-- event 17 for user 3), so that two instances scanning at once insert it
-- once. The bell counts a user's unread rows through the index.
CREATE TABLE notifications (
    id {{id}},
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    entity TEXT NOT NULL DEFAULT '',
    record_id BIGINT NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    dedup TEXT NOT NULL,
    read_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (dedup)
);
CREATE INDEX notifications_user ON notifications (user_id, read_at, id);

-- A user's channels besides the bell: e-mail (to the user's address) and
-- Telegram (a chat id the user gets from the bot).
CREATE TABLE notify_prefs (
    user_id BIGINT PRIMARY KEY,
    email BOOLEAN NOT NULL DEFAULT FALSE,
    telegram_chat_id TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- Reminders look at the activities starting soon, failed-delivery alerts
-- at the deliveries that failed lately: both by time, across users. The
-- activities' index also covers the activities report (point 15).
CREATE INDEX activities_start ON activities (start_at, deleted_at, assigned_by_id, done, end_at);
CREATE INDEX deliveries_failed ON deliveries (status, updated_at);

-- The reports (point 15) read these indexes only, not the rows: leads by
-- creation with source and campaign, deals by pipeline and creation with
-- stage and amount, won deals by manager with their dates and amounts.
CREATE INDEX leads_report ON leads (created_at, deleted_at, source_id, utm_campaign, assigned_by_id);
CREATE INDEX deals_report ON deals (category_id, created_at, deleted_at, stage_id, opportunity, assigned_by_id);
CREATE INDEX deals_won ON deals (won, deleted_at, assigned_by_id, close_date, updated_at, opportunity);
