-- E-mail notifications (issue 20, point 12): a send job marks its
-- notification and channel sent here once the server took the message, so
-- that a job River runs again (a crash after the send, before the job was
-- recorded done) does not send it twice.
CREATE TABLE notify_sent (
    notification_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (notification_id, channel)
);
