-- The line by the clock: administrators' overrides of the schedule, staff
-- announcements played to callers, and the connections a call was put
-- through (consultants, 24/7 services).
-- In step with migrations/sqlite/0005_line.sql.

-- "Staffed until …" / "closed until …": the newest one not cleared and not
-- expired is in force.
CREATE TABLE line_overrides (
    id          BIGSERIAL PRIMARY KEY,
    staffed     BIGINT  NOT NULL,
    until_at    BIGINT  NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    set_by      TEXT    NOT NULL,
    set_at      BIGINT  NOT NULL,
    cleared_at  BIGINT
);
CREATE INDEX line_overrides_until ON line_overrides(until_at);

-- Short messages per language, played after the language choice while
-- active, oldest start first.
CREATE TABLE announcements (
    id          BIGSERIAL PRIMARY KEY,
    text_pl     TEXT    NOT NULL,
    text_uk     TEXT    NOT NULL DEFAULT '',
    text_en     TEXT    NOT NULL DEFAULT '',
    starts_at   BIGINT  NOT NULL,
    ends_at     BIGINT  NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    ended_by    TEXT,
    ended_at    BIGINT
);
CREATE INDEX announcements_active ON announcements(ends_at, starts_at);

-- A call connected onwards with <Dial>: to the consultants ('consultants')
-- or to a category's 24/7 service ('referral'); outcome as the provider
-- reports it (completed, no-answer, busy, failed, canceled).
CREATE TABLE call_dials (
    id          BIGSERIAL PRIMARY KEY,
    call_id     BIGINT  NOT NULL REFERENCES calls(id),
    kind        TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    category    TEXT,
    outcome     TEXT,
    seconds     BIGINT,
    started_at  BIGINT  NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX call_dials_call ON call_dials(call_id, started_at);
