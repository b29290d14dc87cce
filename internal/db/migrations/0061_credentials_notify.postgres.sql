-- PostgreSQL: a change of an API key or of a user notifies the channel
-- obmen_credentials at its commit, whoever makes it (any instance, the
-- CLI, plain SQL). Every instance's change bus listens to it and forgets
-- the key checks it cached (db.CredentialsEpoch, issue 21), so a revoked
-- key or a disabled user stops working everywhere within a notification's
-- delay. Uses of a key (last_used_at) and sign-ins (last_seen_at) change
-- nothing a key check returns and do not notify.
CREATE FUNCTION obmen_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('obmen_credentials', '');
    RETURN NULL;
END
$$;
-- The columns compared are all but the ones those uses set, whatever
-- columns the tables have by then.
CREATE TRIGGER api_keys_credentials AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION obmen_credentials_changed();
CREATE TRIGGER api_keys_credentials_gone AFTER DELETE OR TRUNCATE ON api_keys FOR EACH STATEMENT
    EXECUTE FUNCTION obmen_credentials_changed();
CREATE TRIGGER users_credentials AFTER UPDATE ON users FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_seen_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_seen_at'))
    EXECUTE FUNCTION obmen_credentials_changed();
CREATE TRIGGER users_credentials_gone AFTER DELETE OR TRUNCATE ON users FOR EACH STATEMENT
    EXECUTE FUNCTION obmen_credentials_changed();
