-- Cases (SQLite): the category catalogue, working calendars, cases with their reporters,
-- photos and append-only event log, durable deadline jobs, the inbox of posts and the
-- outbox of outgoing messages.
-- Keep in step with ../postgres/0005_cases.sql: the schema-parity test compares them.
-- Times are UTC text (YYYY-MM-DDTHH:MM:SSZ); deadlines are computed in county local time.

-- A tree of categories. routing: 'territory' (the location's people in charge) or
-- 'post:<kind>' (the post of that kind at the location's community). questions is a JSON
-- list of typed fields. Private categories are shown only to the owner chain.
CREATE TABLE case_categories (
    code              TEXT PRIMARY KEY,
    parent_code       TEXT REFERENCES case_categories (code),
    name_zh           TEXT NOT NULL,
    name_en           TEXT NOT NULL,
    is_private        INTEGER NOT NULL CHECK (is_private IN (0, 1)),
    routing           TEXT NOT NULL,
    default_severity  TEXT NOT NULL,
    questions         TEXT NOT NULL,
    promise_zh        TEXT NOT NULL,
    promise_en        TEXT NOT NULL,
    active            INTEGER NOT NULL CHECK (active IN (0, 1)),
    sort_order        INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX case_categories_parent ON case_categories (parent_code);

-- Deadlines per (category, severity, stage); category '*' is the default of every category.
CREATE TABLE category_deadlines (
    id             INTEGER PRIMARY KEY,
    category_code  TEXT NOT NULL,
    severity       TEXT NOT NULL CHECK (severity IN ('emergency', 'urgent', 'general', 'complex')),
    stage          TEXT NOT NULL CHECK (stage IN ('accept', 'dispatch', 'sign', 'respond', 'resolve')),
    amount         INTEGER NOT NULL,
    unit           TEXT NOT NULL CHECK (unit IN ('natural_hours', 'working_hours', 'working_days'))
);
CREATE UNIQUE INDEX category_deadlines_key ON category_deadlines (category_code, severity, stage);

-- A county's working calendar (working periods, weekend, holidays, swapped days) as JSON.
CREATE TABLE work_calendars (
    county_id   INTEGER PRIMARY KEY REFERENCES areas (id),
    data        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    county_id         INTEGER NOT NULL,
    grid_id           INTEGER,
    number            TEXT NOT NULL,
    state             TEXT NOT NULL,
    category_code     TEXT NOT NULL REFERENCES case_categories (code),
    is_private        INTEGER NOT NULL CHECK (is_private IN (0, 1)),
    severity          TEXT NOT NULL,
    channel           TEXT NOT NULL,
    description       TEXT NOT NULL,
    answers           TEXT NOT NULL,
    area_id           INTEGER NOT NULL REFERENCES areas (id),
    area_path         TEXT NOT NULL,
    house_id          INTEGER REFERENCES houses (id),
    household_id      INTEGER REFERENCES households (id),
    lat               REAL,
    lng               REAL,
    routing_note      TEXT,
    owner_post_id     INTEGER REFERENCES posts (id),
    owner_area_id     INTEGER REFERENCES areas (id),
    owner_path        TEXT,
    owner_level       TEXT,
    due_at            TEXT,
    warn_at           TEXT,
    respond_due       TEXT,
    close_due         TEXT,
    escalation_level  INTEGER NOT NULL,
    paused_at         TEXT,
    parent_id         INTEGER REFERENCES cases (id),
    reporters         INTEGER NOT NULL,
    priority          INTEGER NOT NULL,
    machine           TEXT NOT NULL,
    -- The hash of the token the reporter follows and rates the case with (given once).
    follow_token_hash TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    closed_at         TEXT
);
CREATE UNIQUE INDEX cases_number ON cases (number);
CREATE INDEX cases_area_path ON cases (area_path, id);
CREATE INDEX cases_owner_path ON cases (owner_path, id);
CREATE INDEX cases_owner_due ON cases (owner_post_id, due_at);
CREATE INDEX cases_category_created ON cases (category_code, created_at);
CREATE INDEX cases_parent ON cases (parent_id);

-- Who reported a case; several after a merge. A contact's phone is kept sealed.
CREATE TABLE case_reporters (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    county_id      INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('resident', 'contact', 'anonymous')),
    resident_id    INTEGER REFERENCES residents (id),
    name           TEXT,
    phone_sealed   TEXT,
    phone_last4    TEXT,
    channel        TEXT NOT NULL,
    merged_from    INTEGER REFERENCES cases (id),
    created_at     TEXT NOT NULL
);
CREATE INDEX case_reporters_case ON case_reporters (case_id);
CREATE INDEX case_reporters_resident ON case_reporters (resident_id);

CREATE TABLE case_photos (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content_type  TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    data          BLOB NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX case_photos_case ON case_photos (case_id);

-- Append-only: one row per move. The rates are computed from here.
CREATE TABLE case_events (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    county_id     INTEGER NOT NULL,
    area_path     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    at            TEXT NOT NULL,
    account_id    INTEGER,
    post_id       INTEGER,
    from_state    TEXT,
    to_state      TEXT NOT NULL,
    reason        TEXT,
    data          TEXT,
    respond_due   TEXT,
    close_due     TEXT
);
CREATE INDEX case_events_case ON case_events (case_id, id);
CREATE INDEX case_events_area_path ON case_events (area_path, at);

-- Durable deadline jobs: a warning before the deadline, escalation at it, a reminder of a case
-- waiting to be filed or dispatched, closing unrated.
-- A worker claims a job in the transaction that runs it, so a job runs once.
CREATE TABLE case_jobs (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    kind        TEXT NOT NULL CHECK (kind IN ('warn', 'escalate', 'remind', 'close_unrated')),
    run_at      TEXT NOT NULL,
    claimed_by  TEXT,
    claimed_at  TEXT,
    done_at     TEXT,
    outcome     TEXT
);
CREATE INDEX case_jobs_due ON case_jobs (run_at) WHERE done_at IS NULL;
CREATE INDEX case_jobs_case ON case_jobs (case_id);

-- The in-app inbox of a post.
CREATE TABLE inbox_items (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    area_path   TEXT NOT NULL,
    case_id     INTEGER REFERENCES cases (id),
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    read_at     TEXT
);
CREATE INDEX inbox_items_post ON inbox_items (post_id, id);

-- Outgoing messages (SMS or webhook), recorded before any attempt to send them.
CREATE TABLE outbox_messages (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER REFERENCES cases (id),
    channel          TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    last_attempt_at  TEXT,
    sent_at          TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_messages_unsent ON outbox_messages (created_at) WHERE sent_at IS NULL;
