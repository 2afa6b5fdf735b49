-- Callback consent: after the number is read back, a caller whose number
-- is known may press 1 to be called back on it (1), or not (0); none
-- when the question was not asked (a withheld number, a missed call).
-- In step with migrations/sqlite/0008_callback.sql.
ALTER TABLE reports ADD COLUMN callback_consent BIGINT;
