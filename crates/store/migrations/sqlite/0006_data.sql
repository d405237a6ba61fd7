-- Data in and out (SQLite): versions of house QR plates, the counties' settings for
-- self-registration, and the change requests that residents submit by scanning a plate.
-- Keep in step with ../postgres/0006_data.sql: the schema-parity test compares them.

-- A plate's link is signed over the house id and this version: raising it voids old plates.
ALTER TABLE houses ADD COLUMN plate_version INTEGER NOT NULL DEFAULT 1;

-- What a county keeps of a returnee's registration, and for how long.
CREATE TABLE registration_settings (
    county_id       INTEGER PRIMARY KEY REFERENCES areas (id),
    returnee_fields TEXT NOT NULL,
    retention_days  INTEGER NOT NULL,
    updated_at      TEXT NOT NULL
);

-- A submission from a house's plate, reviewed by the unit chief. The submitted fields are
-- sealed as one value (they hold ID numbers and phones); the retention job clears them.
CREATE TABLE change_requests (
    id              INTEGER PRIMARY KEY,
    county_id       INTEGER NOT NULL,
    grid_id         INTEGER NOT NULL,
    unit_id         INTEGER NOT NULL REFERENCES areas (id),
    area_path       TEXT NOT NULL,
    house_id        INTEGER NOT NULL REFERENCES houses (id),
    household_id    INTEGER REFERENCES households (id),
    kind            TEXT NOT NULL CHECK (kind IN ('register', 'returnee')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    summary         TEXT NOT NULL,
    payload_sealed  TEXT,
    address_hash    TEXT NOT NULL,
    submitted_at    TEXT NOT NULL,
    reviewed_at     TEXT,
    reviewed_by     INTEGER REFERENCES accounts (id),
    reason          TEXT,
    resident_id     INTEGER REFERENCES residents (id),
    purge_after     TEXT,
    purged_at       TEXT
);
CREATE INDEX change_requests_area_path ON change_requests (area_path, status);
CREATE INDEX change_requests_house ON change_requests (house_id, submitted_at);
CREATE INDEX change_requests_address ON change_requests (address_hash, submitted_at);
CREATE INDEX change_requests_purge ON change_requests (purge_after);
