
-- obmen_fold(text) is text folded for case-insensitive comparison in
-- every alphabet (filters: "заяв" finds "Заявка"). SQLite has the same
-- function registered by internal/db in Go; here it is lower(), which
-- folds Cyrillic and the rest of Unicode under a UTF-8 LC_CTYPE (the
-- default of initdb on any UTF-8 system; TestFold checks it).
CREATE FUNCTION obmen_fold(t TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT lower(t)';
