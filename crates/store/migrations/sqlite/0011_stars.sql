-- Star households, rankings (SQLite). Keep in step with ../postgres/0011_stars.sql.

-- The star items (星级文明户 评星项目) of a county: each item a household earns is one star.
CREATE TABLE star_items (
    id         INTEGER PRIMARY KEY,
    county_id  INTEGER NOT NULL,
    code       TEXT NOT NULL,
    name_zh    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    active     INTEGER NOT NULL CHECK (active IN (0, 1))
);
CREATE UNIQUE INDEX star_items_code ON star_items (county_id, code);

-- A household's star rating for a period (a year): self-assessed by the household or its grid
-- worker, reviewed by the grid worker or unit chief, decided and published by the village or
-- community post; revoked by that level with a reason, which bars the household until
-- barred_until. Items are comma-separated star item codes.
CREATE TABLE star_ratings (
    id                   INTEGER PRIMARY KEY,
    county_id            INTEGER NOT NULL,
    household_id         INTEGER NOT NULL REFERENCES households (id),
    area_path            TEXT NOT NULL,
    period               TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('self_assessed', 'reviewed', 'published', 'revoked')),
    claimed_items        TEXT NOT NULL,
    reviewed_items       TEXT,
    awarded_items        TEXT,
    stars                INTEGER,
    self_note            TEXT,
    self_by_post_id      INTEGER REFERENCES posts (id),
    self_by_account_id   INTEGER REFERENCES accounts (id),
    reviewed_by_post_id  INTEGER REFERENCES posts (id),
    review_note          TEXT,
    reviewed_at          TEXT,
    decided_by_post_id   INTEGER REFERENCES posts (id),
    decided_at           TEXT,
    revoked_by_post_id   INTEGER REFERENCES posts (id),
    revoked_at           TEXT,
    revoke_reason        TEXT,
    barred_until         TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX star_ratings_period ON star_ratings (household_id, period);
CREATE INDEX star_ratings_area_path ON star_ratings (area_path);

-- A published ranking (积分排行): a frozen snapshot of points earned in a period within an
-- area, by households or by volunteers. Later ledger entries never change it.
CREATE TABLE rankings (
    id                    INTEGER PRIMARY KEY,
    county_id             INTEGER NOT NULL,
    area_id               INTEGER NOT NULL REFERENCES areas (id),
    area_path             TEXT NOT NULL,
    period                TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('household', 'volunteer')),
    published_by_post_id  INTEGER REFERENCES posts (id),
    published_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX rankings_once ON rankings (area_id, period, kind);
CREATE INDEX rankings_area_path ON rankings (area_path);

-- label is masked (a unit and an initial), as the public sees it.
CREATE TABLE ranking_rows (
    id          INTEGER PRIMARY KEY,
    ranking_id  INTEGER NOT NULL REFERENCES rankings (id),
    position    INTEGER NOT NULL,
    holder_id   INTEGER NOT NULL,
    label       TEXT NOT NULL,
    points      INTEGER NOT NULL
);
CREATE INDEX ranking_rows_ranking ON ranking_rows (ranking_id, position);
