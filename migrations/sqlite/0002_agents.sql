-- Agents, their sessions and API tokens, and failed-login tracking.
-- In step with migrations/postgres/0002_agents.sql.

CREATE TABLE agents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    disabled_at    BIGINT
);

-- Only hashes of session and API tokens are stored.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    agent_id    BIGINT  NOT NULL REFERENCES agents(id),
    csrf_token  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_agent ON sessions(agent_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    BIGINT  NOT NULL REFERENCES agents(id),
    token_hash  TEXT    NOT NULL UNIQUE,
    label       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT,
    last_used   BIGINT
);

-- One row per login name and per client address.
CREATE TABLE login_failures (
    key           TEXT    PRIMARY KEY,
    failures      BIGINT  NOT NULL,
    first_at      BIGINT  NOT NULL,
    locked_until  BIGINT
);
