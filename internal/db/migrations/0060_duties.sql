-- Housekeeping duties shared by the instances on one database (issue 21):
-- old automation runs purged, old 1C exchange files swept. Each instance
-- looks often; the one whose claim moves last_at on does the duty, once
-- a period however many instances run. runs counts the turns taken.
CREATE TABLE duties (
    name TEXT PRIMARY KEY,
    last_at BIGINT NOT NULL DEFAULT 0,
    runs BIGINT NOT NULL DEFAULT 0
);
