-- Urgent reports: why a report is urgent (the phrase heard in its
-- transcript), none for an ordinary one.
-- In step with migrations/postgres/0006_urgent.sql.
ALTER TABLE reports ADD COLUMN urgent_reason TEXT;
