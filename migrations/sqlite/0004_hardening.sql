-- Hardening: late recordings, webhook signatures seen (Telnyx replays).
-- In step with the other backend's 0004_hardening.sql.

-- When a recording arrived after the report was decided (kept for an
-- agent to look at; the decided text is never changed by it).
ALTER TABLE reports ADD COLUMN late_recording_at BIGINT;

-- Webhook signatures that carry no URL (Telnyx signs the body only): the
-- first URL each was used with. The same signature to another URL is a
-- replay and refused; rows older than the signature's lifetime are purged.
CREATE TABLE webhook_signatures (
    signature  TEXT    PRIMARY KEY,
    target     TEXT    NOT NULL,
    seen_at    BIGINT  NOT NULL
);
CREATE INDEX webhook_signatures_seen ON webhook_signatures(seen_at);

-- The sweeper's scan: calls not over, by their last webhook.
CREATE INDEX calls_open_by_activity ON calls(ended_at, updated_at);
