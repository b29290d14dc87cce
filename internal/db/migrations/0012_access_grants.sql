-- What an administrator grants a manager beyond their own records: the
-- records of another user (owner_id), or of every user (owner_id 0), to
-- read only or to change too (can_edit). A head of sales is granted her
-- team's records; an owner's deputy all of them. The all-or-nothing
-- see_all of user_access becomes a grant of everything with edit.
CREATE TABLE access_grants (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    owner_id BIGINT NOT NULL,
    can_edit BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, owner_id)
);

INSERT INTO access_grants (user_id, owner_id, can_edit)
SELECT user_id, 0, TRUE FROM user_access WHERE see_all;

DROP TABLE user_access;
