-- hotline schema, SQLite dialect. Kept column for column in step with
-- migrations/postgres/0001_init.sql: the same store code runs on both.
-- Timestamps are milliseconds since the Unix epoch (BIGINT) in both.

CREATE TABLE calls (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid     TEXT    NOT NULL UNIQUE,
    caller       TEXT    NOT NULL,
    called       TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    ended_at     BIGINT,
    language     TEXT,
    category     TEXT,
    menu_path    TEXT    NOT NULL DEFAULT '',
    ivr_state    TEXT    NOT NULL DEFAULT '',
    outcome      TEXT,
    updated_at   BIGINT  NOT NULL
);

CREATE TABLE reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    number           TEXT    NOT NULL UNIQUE,
    call_id          BIGINT  NOT NULL UNIQUE REFERENCES calls(id),
    category         TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    caller           TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    audio_status     TEXT    NOT NULL DEFAULT 'none',
    text             TEXT,
    address          TEXT,
    note             TEXT,
    reject_reason    TEXT,
    duplicate_of     BIGINT  REFERENCES reports(id),
    version          BIGINT  NOT NULL DEFAULT 1,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    decided_at       BIGINT,
    decided_by       TEXT
);
CREATE INDEX reports_status ON reports(status, created_at);

CREATE TABLE recordings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id      BIGINT  NOT NULL REFERENCES reports(id),
    recording_sid  TEXT    NOT NULL UNIQUE,
    url            TEXT    NOT NULL,
    duration_secs  BIGINT,
    sha256         TEXT,
    bytes          BIGINT,
    local_path     TEXT,
    fetch_status   TEXT    NOT NULL DEFAULT 'pending',
    fetch_error    TEXT,
    created_at     BIGINT  NOT NULL,
    fetched_at     BIGINT
);
CREATE INDEX recordings_report ON recordings(report_id);

CREATE TABLE transcripts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    recording_id  BIGINT  NOT NULL UNIQUE REFERENCES recordings(id),
    report_id     BIGINT  NOT NULL REFERENCES reports(id),
    text          TEXT    NOT NULL,
    segments      TEXT    NOT NULL,
    language      TEXT    NOT NULL,
    model_id      TEXT    NOT NULL,
    avg_logprob   DOUBLE PRECISION,
    no_speech     TEXT,
    quality       TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id  BIGINT  REFERENCES reports(id),
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    at         BIGINT  NOT NULL
);
CREATE INDEX audit_report ON audit_log(report_id, at);

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    dedup_key     TEXT,
    payload       TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'queued',
    attempts      BIGINT  NOT NULL DEFAULT 0,
    max_attempts  BIGINT  NOT NULL,
    run_at        BIGINT  NOT NULL,
    locked_by     TEXT,
    locked_until  BIGINT,
    last_error    TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (kind, dedup_key)
);
-- Claiming reads only runnable rows: queued ones by due time, running ones
-- by lease expiry. Partial indexes keep that independent of how many
-- finished jobs the table holds.
CREATE INDEX jobs_queued ON jobs(run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs(locked_until) WHERE status = 'running';

CREATE TABLE report_counters (
    year  BIGINT PRIMARY KEY,
    next  BIGINT NOT NULL
);
