-- A missed call whose caller hung up before choosing has no category or
-- language (they were filed under the menu's default before), and a report
-- filed by an agent after calling a missed call back belongs to no call of
-- its own: it follows the missed call (`follows_up`).
-- In step with migrations/sqlite/0011_unknown_until_chosen.sql.
ALTER TABLE reports ALTER COLUMN call_id DROP NOT NULL;
ALTER TABLE reports ALTER COLUMN category DROP NOT NULL;
ALTER TABLE reports ALTER COLUMN language DROP NOT NULL;
ALTER TABLE reports ADD COLUMN follows_up BIGINT REFERENCES reports(id);
CREATE INDEX reports_follows_up ON reports(follows_up);
UPDATE reports SET category = NULL
 WHERE status IN ('missed_call', 'closed') AND text IS NULL
   AND call_id IN (SELECT id FROM calls WHERE category IS NULL);
UPDATE reports SET language = NULL
 WHERE status IN ('missed_call', 'closed') AND text IS NULL
   AND call_id IN (SELECT id FROM calls WHERE language IS NULL);
