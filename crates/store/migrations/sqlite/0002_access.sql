-- Accounts, posts, sign-in and the audit log (SQLite).
-- Keep in step with ../postgres/0002_access.sql: the schema-parity test compares them.

CREATE TABLE accounts (
    id                    INTEGER PRIMARY KEY,
    login                 TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    resident_id           INTEGER REFERENCES residents (id),
    phone_sealed          TEXT,
    phone_hash            TEXT,
    phone_last4           TEXT,
    password_hash         TEXT NOT NULL,
    must_change_password  INTEGER NOT NULL,
    disabled_at           TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE UNIQUE INDEX accounts_login ON accounts (login);

-- A post held by an account at an area (none: the whole deployment). One open primary holder
-- per (area, kind); ended posts stay as the holding history.
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    county_id   INTEGER,
    area_id     INTEGER REFERENCES areas (id),
    area_path   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    is_primary  INTEGER NOT NULL CHECK (is_primary IN (0, 1)),
    title       TEXT,
    started_on  TEXT NOT NULL,
    ended_on    TEXT,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX posts_primary_open ON posts (area_path, kind) WHERE is_primary = 1 AND ended_on IS NULL;
CREATE INDEX posts_area_path ON posts (area_path);
CREATE INDEX posts_account ON posts (account_id);

-- Web sessions: only the hash of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    post_id       INTEGER REFERENCES posts (id),
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

-- API tokens for machines, each bound to one post; only the hash is kept.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL,
    name          TEXT NOT NULL,
    post_id       INTEGER NOT NULL REFERENCES posts (id),
    created_by    INTEGER REFERENCES accounts (id),
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_post ON api_tokens (post_id);

CREATE TABLE sign_in_failures (
    id       INTEGER PRIMARY KEY,
    login    TEXT NOT NULL,
    address  TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX sign_in_failures_login ON sign_in_failures (login, at);
CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);

-- Append-only: every write and every reveal of protected data.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    account_id  INTEGER,
    post_id     INTEGER,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   INTEGER,
    area_path   TEXT NOT NULL,
    purpose     TEXT,
    detail      TEXT
);
CREATE INDEX audit_events_area_path ON audit_events (area_path, id);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id);
