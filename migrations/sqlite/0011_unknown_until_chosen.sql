-- A missed call whose caller hung up before choosing has no category or
-- language (they were filed under the menu's default before), and a report
-- filed by an agent after calling a missed call back belongs to no call of
-- its own: it follows the missed call (`follows_up`). SQLite cannot drop a
-- NOT NULL, so the table is rebuilt (sqlite.org/lang_altertable.html, the
-- twelve steps): migrations run with foreign keys off (src/store/sqlite.rs
-- checks them after), so other tables' references to `reports` dangle for
-- a moment; the rows and their ids are copied as they are.
-- In step with migrations/postgres/0011_unknown_until_chosen.sql.
CREATE TABLE reports_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    number            TEXT    NOT NULL UNIQUE,
    call_id           BIGINT  UNIQUE REFERENCES calls(id),
    category          TEXT,
    language          TEXT,
    caller            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    audio_status      TEXT    NOT NULL DEFAULT 'none',
    text              TEXT,
    address           TEXT,
    note              TEXT,
    reject_reason     TEXT,
    duplicate_of      BIGINT  REFERENCES reports(id),
    version           BIGINT  NOT NULL DEFAULT 1,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    decided_at        BIGINT,
    decided_by        TEXT,
    late_recording_at BIGINT,
    urgent_reason     TEXT,
    urgent_kind       TEXT,
    callback_consent  BIGINT,
    callback_outcome  TEXT,
    callback_attempts BIGINT  NOT NULL DEFAULT 0,
    called_back_at    BIGINT,
    follows_up        BIGINT  REFERENCES reports(id)
);
INSERT INTO reports_new (id, number, call_id, category, language, caller, status, audio_status, text,
    address, note, reject_reason, duplicate_of, version, created_at, updated_at, decided_at, decided_by,
    late_recording_at, urgent_reason, urgent_kind, callback_consent, callback_outcome, callback_attempts,
    called_back_at)
SELECT id, number, call_id, category, language, caller, status, audio_status, text,
    address, note, reject_reason, duplicate_of, version, created_at, updated_at, decided_at, decided_by,
    late_recording_at, urgent_reason, urgent_kind, callback_consent, callback_outcome, callback_attempts,
    called_back_at
FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_status ON reports(status, created_at);
CREATE INDEX reports_follows_up ON reports(follows_up);
UPDATE reports SET category = NULL
 WHERE status IN ('missed_call', 'closed') AND text IS NULL
   AND call_id IN (SELECT id FROM calls WHERE category IS NULL);
UPDATE reports SET language = NULL
 WHERE status IN ('missed_call', 'closed') AND text IS NULL
   AND call_id IN (SELECT id FROM calls WHERE language IS NULL);
