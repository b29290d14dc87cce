-- What a CardDAV client keeps of a contact that the CRM has no field for
-- (issue 22): the client's own name of the card (the last segment of its
-- href, which the client goes on using), its UID, and the whole last card
-- it sent, laid under the contact when the card is rendered so that a
-- round trip loses nothing (PHOTO, IMPP, X- properties). A row outlives a
-- purge of its contact: the clients still have to hear, by that name,
-- that the card is gone.
CREATE TABLE dav_cards (
    contact_id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    uid TEXT NOT NULL DEFAULT '',
    raw TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL DEFAULT 0
);
