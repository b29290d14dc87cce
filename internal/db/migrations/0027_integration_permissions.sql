-- Integration permissions (issue 25, finding 1): what an administrator
-- grants a user, and so every API key of the user, on the integration
-- surfaces. '1c_exchange' signs in to /1c_exchange.php and exchanges
-- orders (type=sale) within the user's record access; '1c_catalog'
-- also imports the catalog (type=catalog), which changes the products
-- everyone shares. Administrators hold both without a row here.
CREATE TABLE integration_permissions (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (user_id, permission)
);

-- The API key a 1C session was opened with (a revoked key ends its
-- sessions) and the bytes the session uploaded (its quota).
ALTER TABLE cml_sessions ADD COLUMN key_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cml_sessions ADD COLUMN uploaded_bytes BIGINT NOT NULL DEFAULT 0;
