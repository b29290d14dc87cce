
-- An e-mail's domain finds it ("mail.ru"); the engines name the
-- function differently (store/list.go switches the same way).
CREATE INDEX comms_email_domain ON comms ((substr(normalized, instr(normalized, '@') + 1)), entity) WHERE kind = 'EMAIL';
