-- The area tree, the registry and their roll-up counters (SQLite).
-- Keep in step with ../postgres/0001_foundation.sql: the schema-parity test compares them.

CREATE TABLE areas (
    id            INTEGER PRIMARY KEY,
    county_id     INTEGER NOT NULL,
    parent_id     INTEGER REFERENCES areas (id),
    level         TEXT NOT NULL CHECK (level IN ('county', 'town', 'community', 'grid', 'unit')),
    kind          TEXT NOT NULL,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    path          TEXT NOT NULL,
    depth         INTEGER NOT NULL,
    boundary      TEXT,
    valid_from    TEXT NOT NULL,
    valid_to      TEXT,
    successor_id  INTEGER REFERENCES areas (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX areas_code_active ON areas (code) WHERE valid_to IS NULL;
CREATE INDEX areas_path ON areas (path);
CREATE INDEX areas_parent ON areas (parent_id);
CREATE INDEX areas_name ON areas (name);

CREATE TABLE houses (
    id          INTEGER PRIMARY KEY,
    county_id   INTEGER NOT NULL,
    grid_id     INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL REFERENCES areas (id),
    area_path   TEXT NOT NULL,
    code        TEXT NOT NULL,
    address     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX houses_code ON houses (code);
CREATE INDEX houses_area_path ON houses (area_path);
CREATE INDEX houses_unit ON houses (unit_id);

CREATE TABLE households (
    id                INTEGER PRIMARY KEY,
    county_id         INTEGER NOT NULL,
    grid_id           INTEGER NOT NULL,
    unit_id           INTEGER NOT NULL REFERENCES areas (id),
    area_path         TEXT NOT NULL,
    house_id          INTEGER REFERENCES houses (id),
    code              TEXT NOT NULL,
    address           TEXT NOT NULL,
    head_resident_id  INTEGER,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX households_code ON households (code);
CREATE INDEX households_area_path ON households (area_path);
CREATE INDEX households_unit ON households (unit_id);
CREATE INDEX households_house ON households (house_id);

-- id_number and phone are to be stored sealed (encrypted) once keys exist; the *_hash
-- columns are keyed hashes (HMAC) for exact search without reading the value.
CREATE TABLE residents (
    id              INTEGER PRIMARY KEY,
    county_id       INTEGER NOT NULL,
    grid_id         INTEGER NOT NULL,
    unit_id         INTEGER NOT NULL,
    area_path       TEXT NOT NULL,
    household_id    INTEGER NOT NULL REFERENCES households (id),
    name            TEXT NOT NULL,
    sex             TEXT CHECK (sex IN ('male', 'female')),
    birth_date      TEXT,
    phone           TEXT,
    phone_hash      TEXT,
    phone_last4     TEXT,
    id_number       TEXT,
    id_number_hash  TEXT,
    id_number_last4 TEXT,
    status          TEXT NOT NULL CHECK (status IN ('present', 'away', 'returned', 'moved_out', 'deceased')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX residents_id_number_hash ON residents (id_number_hash);
CREATE INDEX residents_phone_hash ON residents (phone_hash);
CREATE INDEX residents_area_path ON residents (area_path);
CREATE INDEX residents_household ON residents (household_id);
CREATE INDEX residents_name ON residents (name);

-- Dated membership of a household: the open row (until IS NULL) is the current one.
CREATE TABLE memberships (
    id            INTEGER PRIMARY KEY,
    county_id     INTEGER NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents (id),
    household_id  INTEGER NOT NULL REFERENCES households (id),
    relation      TEXT NOT NULL,
    since         TEXT NOT NULL,
    until         TEXT
);
CREATE INDEX memberships_resident ON memberships (resident_id);
CREATE INDEX memberships_household ON memberships (household_id);

CREATE TABLE tag_kinds (
    code        TEXT PRIMARY KEY,
    sensitive   INTEGER NOT NULL CHECK (sensitive IN (0, 1)),
    created_at  TEXT NOT NULL
);

-- Dated tags of residents: the open row (until IS NULL) is a current tag.
CREATE TABLE resident_tags (
    id           INTEGER PRIMARY KEY,
    county_id    INTEGER NOT NULL,
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    tag          TEXT NOT NULL REFERENCES tag_kinds (code),
    since        TEXT NOT NULL,
    until        TEXT
);
CREATE INDEX resident_tags_resident ON resident_tags (resident_id);
CREATE INDEX resident_tags_tag ON resident_tags (tag, resident_id);

-- Roll-up counters per area (itself and everything below), kept in the same transaction as
-- every registry write, so that a county summary reads a few rows instead of scanning.
CREATE TABLE area_stats (
    area_id  INTEGER NOT NULL REFERENCES areas (id),
    metric   TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (area_id, metric)
);
