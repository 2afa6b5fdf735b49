-- Repeat callers: a call's number as a keyed hash (HMAC-SHA256 with a
-- secret of this database, generated once in `settings`), so an agent sees
-- the same caller's earlier reports without the number being compared,
-- shown or put in a URL, and the link outlives the number's retention.
-- Calls before this migration have none.
-- In step with migrations/postgres/0009_repeat_callers.sql.
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
ALTER TABLE calls ADD COLUMN caller_key TEXT;
CREATE INDEX calls_caller_key ON calls(caller_key);
