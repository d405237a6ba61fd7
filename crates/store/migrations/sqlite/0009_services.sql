-- Community services (SQLite): volunteers and teams, the points ledger and its shop,
-- micro-wishes. Keep in step with ../postgres/0009_services.sql: the schema-parity test
-- compares them. Times are UTC text (YYYY-MM-DDTHH:MM:SSZ).

-- A volunteer: a resident (resident_id) or an outsider (name only); account_id when they sign in.
CREATE TABLE volunteers (
    id            INTEGER PRIMARY KEY,
    county_id     INTEGER NOT NULL,
    area_id       INTEGER NOT NULL REFERENCES areas (id),
    area_path     TEXT NOT NULL,
    resident_id   INTEGER REFERENCES residents (id),
    account_id    INTEGER REFERENCES accounts (id),
    name          TEXT NOT NULL,
    skills        TEXT NOT NULL,
    availability  TEXT NOT NULL,
    since         TEXT NOT NULL,
    until         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX volunteers_area_path ON volunteers (area_path);
CREATE INDEX volunteers_account ON volunteers (account_id);
CREATE UNIQUE INDEX volunteers_resident_open ON volunteers (resident_id) WHERE until IS NULL;

-- A team (e.g. a rule-of-law propaganda team) and its members with their roles.
CREATE TABLE volunteer_teams (
    id           INTEGER PRIMARY KEY,
    county_id    INTEGER NOT NULL,
    area_id      INTEGER NOT NULL REFERENCES areas (id),
    area_path    TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    since        TEXT NOT NULL,
    until        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX volunteer_teams_area_path ON volunteer_teams (area_path);

CREATE TABLE team_members (
    id            INTEGER PRIMARY KEY,
    team_id       INTEGER NOT NULL REFERENCES volunteer_teams (id),
    volunteer_id  INTEGER NOT NULL REFERENCES volunteers (id),
    role          TEXT NOT NULL CHECK (role IN ('leader', 'rule_of_law_leader', 'law_savvy', 'member')),
    since         TEXT NOT NULL,
    until         TEXT
);
CREATE UNIQUE INDEX team_members_open ON team_members (team_id, volunteer_id) WHERE until IS NULL;
CREATE INDEX team_members_volunteer ON team_members (volunteer_id);

-- Versioned rules: one row per (community, code, version). Only an approved version earns.
CREATE TABLE points_rules (
    id                   INTEGER PRIMARY KEY,
    county_id            INTEGER NOT NULL,
    area_id              INTEGER NOT NULL REFERENCES areas (id),
    area_path            TEXT NOT NULL,
    code                 TEXT NOT NULL,
    version              INTEGER NOT NULL,
    name                 TEXT NOT NULL,
    source_kind          TEXT NOT NULL,
    points               INTEGER NOT NULL,
    threshold            INTEGER NOT NULL,
    approver_kind        TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('proposed', 'approved', 'retired')),
    created_by_post_id   INTEGER REFERENCES posts (id),
    approved_by_post_id  INTEGER REFERENCES posts (id),
    approved_at          TEXT,
    created_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX points_rules_version ON points_rules (area_id, code, version);
CREATE INDEX points_rules_area_path ON points_rules (area_path);

-- One account per holder or per community and kind; account_key is e.g. 'resident:7', 'pool:42'.
-- floor is NULL for a kind that may run negative (the issuance pool).
CREATE TABLE points_accounts (
    id           INTEGER PRIMARY KEY,
    county_id    INTEGER NOT NULL,
    area_path    TEXT NOT NULL,
    account_key  TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('resident', 'household', 'volunteer', 'team', 'pool', 'shop', 'sink')),
    owner_id     INTEGER NOT NULL,
    floor        INTEGER,
    balance      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    CHECK (floor IS NULL OR balance >= floor)
);
CREATE UNIQUE INDEX points_accounts_key ON points_accounts (account_key);
CREATE INDEX points_accounts_area_path ON points_accounts (area_path);

-- Journal entries: never updated but for a pending award's decision; undone only by a reversal.
-- A pending entry has no postings until it is approved.
CREATE TABLE ledger_entries (
    id                    INTEGER PRIMARY KEY,
    county_id             INTEGER NOT NULL,
    area_path             TEXT NOT NULL,
    client_key            TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('posted', 'pending', 'rejected')),
    account_id            INTEGER NOT NULL REFERENCES points_accounts (id),
    points                INTEGER NOT NULL,
    rule_id               INTEGER REFERENCES points_rules (id),
    rule_version          INTEGER,
    source_kind           TEXT NOT NULL,
    source_id             INTEGER,
    requested_by_post_id  INTEGER REFERENCES posts (id),
    approver_post_id      INTEGER REFERENCES posts (id),
    reverses_id           INTEGER REFERENCES ledger_entries (id),
    note                  TEXT,
    created_at            TEXT NOT NULL,
    posted_at             TEXT
);
CREATE UNIQUE INDEX ledger_entries_client_key ON ledger_entries (client_key);
CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries (reverses_id);
CREATE INDEX ledger_entries_area_path ON ledger_entries (area_path);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id);
CREATE INDEX ledger_entries_source ON ledger_entries (source_kind, source_id);

CREATE TABLE ledger_postings (
    id          INTEGER PRIMARY KEY,
    entry_id    INTEGER NOT NULL REFERENCES ledger_entries (id),
    account_id  INTEGER NOT NULL REFERENCES points_accounts (id),
    amount      INTEGER NOT NULL
);
CREATE INDEX ledger_postings_entry ON ledger_postings (entry_id);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id);

-- The points shop (积分超市) of a community.
CREATE TABLE shop_items (
    id           INTEGER PRIMARY KEY,
    county_id    INTEGER NOT NULL,
    area_id      INTEGER NOT NULL REFERENCES areas (id),
    area_path    TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    points       INTEGER NOT NULL CHECK (points > 0),
    stock        INTEGER NOT NULL CHECK (stock >= 0),
    active       INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX shop_items_area_path ON shop_items (area_path);

CREATE TABLE redemptions (
    id                  INTEGER PRIMARY KEY,
    county_id           INTEGER NOT NULL,
    area_path           TEXT NOT NULL,
    item_id             INTEGER NOT NULL REFERENCES shop_items (id),
    account_id          INTEGER NOT NULL REFERENCES points_accounts (id),
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    points              INTEGER NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('reserved', 'picked_up', 'cancelled')),
    pickup_code         TEXT NOT NULL,
    entry_id            INTEGER NOT NULL REFERENCES ledger_entries (id),
    closing_entry_id    INTEGER REFERENCES ledger_entries (id),
    client_key          TEXT NOT NULL,
    created_by_post_id  INTEGER REFERENCES posts (id),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX redemptions_client_key ON redemptions (client_key);
CREATE INDEX redemptions_area_path ON redemptions (area_path);
CREATE INDEX redemptions_account ON redemptions (account_id);

-- Micro-wishes (微心愿). area_path is the beneficiary's unit; the public sees masked_label only.
-- priority_tags lists the vulnerable-group tags that gave the priority (sensitive).
CREATE TABLE wishes (
    id                    INTEGER PRIMARY KEY,
    county_id             INTEGER NOT NULL,
    area_id               INTEGER NOT NULL REFERENCES areas (id),
    area_path             TEXT NOT NULL,
    resident_id           INTEGER NOT NULL REFERENCES residents (id),
    household_id          INTEGER NOT NULL REFERENCES households (id),
    channel               TEXT NOT NULL CHECK (channel IN ('door_to_door', 'phone', 'chat_group', 'notice', 'collection_point', 'self')),
    category              TEXT NOT NULL,
    description           TEXT NOT NULL,
    estimated_value       INTEGER NOT NULL,
    priority              INTEGER NOT NULL,
    priority_tags         TEXT NOT NULL,
    masked_label          TEXT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('collected', 'published', 'claimed', 'fulfilled', 'confirmed', 'rejected')),
    collected_by_post_id  INTEGER REFERENCES posts (id),
    reviewed_by_post_id   INTEGER REFERENCES posts (id),
    review_note           TEXT,
    claim_due             TEXT,
    fulfil_due            TEXT,
    escalation_level      INTEGER NOT NULL,
    fulfilment_note       TEXT,
    fulfilled_at          TEXT,
    rating                INTEGER,
    rating_note           TEXT,
    confirmed_at          TEXT,
    points_entry_id       INTEGER REFERENCES ledger_entries (id),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX wishes_area_path ON wishes (area_path);
CREATE INDEX wishes_state ON wishes (state, claim_due);
CREATE INDEX wishes_resident ON wishes (resident_id);

-- Who claimed a wish: a volunteer, a team or a co-building unit; one active claim per wish.
CREATE TABLE wish_claims (
    id                   INTEGER PRIMARY KEY,
    wish_id              INTEGER NOT NULL REFERENCES wishes (id),
    claimer_kind         TEXT NOT NULL CHECK (claimer_kind IN ('volunteer', 'team', 'co_building_unit')),
    claimer_id           INTEGER NOT NULL,
    account_id           INTEGER REFERENCES accounts (id),
    state                TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined', 'fulfilled')),
    approved_by_post_id  INTEGER REFERENCES posts (id),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX wish_claims_active ON wish_claims (wish_id) WHERE state IN ('pending', 'approved');
CREATE INDEX wish_claims_wish ON wish_claims (wish_id);
CREATE INDEX wish_claims_account ON wish_claims (account_id);

-- Volunteer activities at an area: sign-up up to capacity, check-in by the code shown at the
-- activity; each check-in earns the activity's hours under its rule (if any), once.
CREATE TABLE activities (
    id             INTEGER PRIMARY KEY,
    county_id      INTEGER NOT NULL,
    area_id        INTEGER NOT NULL REFERENCES areas (id),
    area_path      TEXT NOT NULL,
    team_id        INTEGER REFERENCES volunteer_teams (id),
    rule_id        INTEGER REFERENCES points_rules (id),
    title          TEXT NOT NULL,
    place          TEXT NOT NULL,
    starts_at      TEXT NOT NULL,
    hours          INTEGER NOT NULL,
    capacity       INTEGER NOT NULL,
    people_served  INTEGER NOT NULL,
    checkin_code   TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX activities_area_path ON activities (area_path);

CREATE TABLE activity_signups (
    id             INTEGER PRIMARY KEY,
    activity_id    INTEGER NOT NULL REFERENCES activities (id),
    volunteer_id   INTEGER NOT NULL REFERENCES volunteers (id),
    checked_in_at  TEXT,
    entry_id       INTEGER REFERENCES ledger_entries (id),
    created_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX activity_signups_once ON activity_signups (activity_id, volunteer_id);
CREATE INDEX activity_signups_volunteer ON activity_signups (volunteer_id);
