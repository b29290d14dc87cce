-- CalDAV (issue 22): what a calendar client wrote of an activity beyond
-- the activity's own columns, so it reads back the object it wrote (see
-- crm.ActivityICal, internal/dav/caldav). One row per activity a client
-- wrote; an activity made in the CRM has none until then.
-- href: the resource name the client PUT it under ('' for "<id>.ics").
-- tzid/floating/all_day: how DTSTART was written. rrule: the RRULE value;
-- exdates: the excluded occurrences, unix µs, comma-separated.
-- timezones/extra: JSON of the kept VTIMEZONE and of the other kept
-- properties and components (VALARM, ATTENDEE, RECURRENCE-ID overrides…).
CREATE TABLE activity_ical (
    activity_id BIGINT PRIMARY KEY,
    uid TEXT NOT NULL,
    href TEXT NOT NULL DEFAULT '',
    tzid TEXT NOT NULL DEFAULT '',
    floating BOOLEAN NOT NULL DEFAULT FALSE,
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    rrule TEXT NOT NULL DEFAULT '',
    exdates TEXT NOT NULL DEFAULT '',
    timezones TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT ''
);
CREATE INDEX activity_ical_uid ON activity_ical (uid);
CREATE INDEX activity_ical_href ON activity_ical (href);

-- The read-only iCalendar feed of a user (GET /ical/<token>.ics). The
-- token is <prefix>_<secret>: the prefix finds the row, the secret's
-- SHA-256 (hex) is compared in constant time; the token is shown once.
CREATE TABLE ical_feeds (
    user_id BIGINT PRIMARY KEY,
    prefix TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
