-- Who sees whose records. A manager sees and edits the records they are
-- responsible for (assigned_by_id); an administrator may let a manager see
-- everyone's (see_all). Administrators always see all.
CREATE TABLE user_access (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    see_all BOOLEAN NOT NULL DEFAULT FALSE
);
