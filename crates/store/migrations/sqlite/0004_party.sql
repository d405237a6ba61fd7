-- The party overlay on the area tree (SQLite): organisations and their members, party
-- members' contact households (党员联系户) and co-building units (共建单位) of grids.
-- Keep in step with ../postgres/0004_party.sql: the schema-parity test compares them.
-- Every row carries the area path it is scoped by.

CREATE TABLE party_organisations (
    id                    INTEGER PRIMARY KEY,
    county_id             INTEGER NOT NULL,
    area_id               INTEGER NOT NULL REFERENCES areas (id),
    area_path             TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('party_committee', 'party_branch', 'party_group')),
    name                  TEXT NOT NULL,
    parent_id             INTEGER REFERENCES party_organisations (id),
    secretary_account_id  INTEGER REFERENCES accounts (id),
    founded_on            TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX party_organisations_area_path ON party_organisations (area_path);
CREATE INDEX party_organisations_parent ON party_organisations (parent_id);

-- Dated membership of an organisation: the open row (until IS NULL) is the current one.
-- area_path is the organisation's.
CREATE TABLE party_members (
    id               INTEGER PRIMARY KEY,
    county_id        INTEGER NOT NULL,
    organisation_id  INTEGER NOT NULL REFERENCES party_organisations (id),
    area_path        TEXT NOT NULL,
    resident_id      INTEGER NOT NULL REFERENCES residents (id),
    role             TEXT NOT NULL,
    since            TEXT NOT NULL,
    until            TEXT,
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX party_members_open ON party_members (organisation_id, resident_id) WHERE until IS NULL;
CREATE INDEX party_members_area_path ON party_members (area_path);
CREATE INDEX party_members_resident ON party_members (resident_id);

-- A party member keeping in touch with a household, dated; area_path is the household's.
CREATE TABLE contact_households (
    id            INTEGER PRIMARY KEY,
    county_id     INTEGER NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES residents (id),
    household_id  INTEGER NOT NULL REFERENCES households (id),
    area_path     TEXT NOT NULL,
    since         TEXT NOT NULL,
    until         TEXT,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX contact_households_open ON contact_households (resident_id, household_id) WHERE until IS NULL;
CREATE INDEX contact_households_area_path ON contact_households (area_path);
CREATE INDEX contact_households_household ON contact_households (household_id);

-- Agencies, enterprises and institutions whose party organisations "enter the grid". No phone
-- is kept: phones are stored only sealed, and these are reached through their contact person.
CREATE TABLE co_building_units (
    id            INTEGER PRIMARY KEY,
    county_id     INTEGER NOT NULL,
    grid_id       INTEGER NOT NULL REFERENCES areas (id),
    area_path     TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('agency', 'enterprise', 'institution')),
    contact_name  TEXT,
    since         TEXT NOT NULL,
    until         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX co_building_units_area_path ON co_building_units (area_path);
