-- Address hints, outbound webhook deliveries.
-- In step with migrations/sqlite/0003_integration.sql.

-- Streets recognised in a transcript, best first.
CREATE TABLE address_candidates (
    id          BIGSERIAL PRIMARY KEY,
    report_id   BIGINT  NOT NULL REFERENCES reports(id),
    street      TEXT    NOT NULL,
    house       TEXT,
    score       DOUBLE PRECISION NOT NULL,
    heard       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX address_candidates_report ON address_candidates(report_id);
CREATE INDEX address_candidates_street ON address_candidates(street);

-- Every attempt to deliver an event to a city system.
CREATE TABLE webhook_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    report_id   BIGINT  NOT NULL REFERENCES reports(id),
    event       TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    status      BIGINT,
    error       TEXT,
    at          BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries(at);
