-- The token buckets of the public endpoints' rate limits (sign-in, web
-- forms, webhook triggers, invoice pages, the 1C exchange's checkauth),
-- kept in the database so that several instances on one PostgreSQL draw
-- on one budget (issue 21). A bucket is one row in the form of the generic
-- cell rate algorithm: tat is the moment (Unix nanoseconds) the bucket is
-- full again; a take moves it one interval later, and is refused when that
-- would put it more than the burst ahead of now. A row whose tat is past is
-- a full bucket and is deleted by the sweep. allowed is the answer of the
-- last take (one statement both decides and reports).
CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL,
    allowed INTEGER NOT NULL
);
