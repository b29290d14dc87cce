-- Issue 23. The photo of a lead, contact or account (a client's face or a
-- company's logo): uploaded on the card or through the API, or imported
-- from the client's VK profile into an empty one. The picture itself is
-- kept (VK's addresses expire): a JPEG, PNG, GIF or WebP sniffed from its
-- bytes, size-limited. One per record; removed with the record when it
-- is purged.
CREATE TABLE record_photos (
    owner_type TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    data {{blob}} NOT NULL,
    updated_by_id BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner_type, owner_id)
);

-- The reply box's files that never became part of a message are swept
-- by their age.
CREATE INDEX message_files_unlinked ON message_files (created_at) WHERE message_id = 0;
