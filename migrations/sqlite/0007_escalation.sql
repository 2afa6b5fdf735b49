-- Urgent reports reach the on-call officer: what made a report urgent
-- (heard: the phrase in urgent_reason; referral: the 24/7 service the
-- caller turned down, its name in urgent_reason), and a report's
-- deliveries looked up by report (sent once: a retried job checks them).
-- In step with migrations/postgres/0007_escalation.sql.
ALTER TABLE reports ADD COLUMN urgent_kind TEXT;
UPDATE reports SET urgent_kind = 'heard' WHERE urgent_reason IS NOT NULL;
CREATE INDEX webhook_deliveries_report ON webhook_deliveries(report_id, event);
