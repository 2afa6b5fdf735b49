-- Missed calls called back: what came of the last attempt (filed,
-- no_answer, not_needed), how many attempts and when the last one was. A
-- missed call closed without a report has status 'closed'.
-- In step with migrations/sqlite/0010_callbacks.sql.
ALTER TABLE reports ADD COLUMN callback_outcome TEXT;
ALTER TABLE reports ADD COLUMN callback_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN called_back_at BIGINT;
