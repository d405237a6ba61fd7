-- Living rooms (邻里客厅) and the everyday work done in them and around them (SQLite):
-- venues and bookings, consultation meetings (议事会) with topics, attendees, decisions, votes
-- and follow-ups that are cases; mediations (调解); household visits (走访); notices (公告);
-- residents' evaluations (评议) and their frozen snapshots.
-- Keep in step with ../postgres/0008_rooms.sql: the schema-parity test compares them.

CREATE TABLE living_rooms (
    id             INTEGER PRIMARY KEY,
    county_id      INTEGER NOT NULL,
    area_id        INTEGER NOT NULL REFERENCES areas (id),
    area_path      TEXT NOT NULL,
    name           TEXT NOT NULL,
    address        TEXT NOT NULL,
    opening_hours  TEXT NOT NULL,
    capacity       INTEGER NOT NULL,
    keeper_post_id INTEGER REFERENCES posts (id),
    is_open        INTEGER NOT NULL CHECK (is_open IN (0, 1)),
    created_at     TEXT NOT NULL
);
CREATE INDEX living_rooms_area_path ON living_rooms (area_path, id);

CREATE TABLE room_bookings (
    id          INTEGER PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES living_rooms (id),
    area_path   TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    meeting_id  INTEGER,
    post_id     INTEGER,
    created_at  TEXT NOT NULL
);
CREATE INDEX room_bookings_room ON room_bookings (room_id, starts_at);

-- A topic raised for consultation; supports from residents of its area.
CREATE TABLE topics (
    id                    INTEGER PRIMARY KEY,
    county_id             INTEGER NOT NULL,
    area_id               INTEGER NOT NULL REFERENCES areas (id),
    area_path             TEXT NOT NULL,
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL,
    raised_by_resident_id INTEGER REFERENCES residents (id),
    raised_by_post_id     INTEGER,
    threshold             INTEGER NOT NULL,
    supports              INTEGER NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('raised', 'supported', 'scheduled', 'decided')),
    meeting_id            INTEGER,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX topics_area_path ON topics (area_path, id);

CREATE TABLE topic_supports (
    id           INTEGER PRIMARY KEY,
    topic_id     INTEGER NOT NULL REFERENCES topics (id),
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    post_id      INTEGER,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX topic_supports_once ON topic_supports (topic_id, resident_id);

CREATE TABLE meetings (
    id          INTEGER PRIMARY KEY,
    county_id   INTEGER NOT NULL,
    room_id     INTEGER NOT NULL REFERENCES living_rooms (id),
    area_id     INTEGER NOT NULL REFERENCES areas (id),
    area_path   TEXT NOT NULL,
    title       TEXT NOT NULL,
    agenda      TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    vote_mode   TEXT NOT NULL CHECK (vote_mode IN ('resident', 'household')),
    quorum      INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('scheduled', 'held')),
    minutes     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX meetings_area_path ON meetings (area_path, id);
CREATE INDEX meetings_room ON meetings (room_id, starts_at);

-- Invited and present residents; a check-in by a staff member records the resident's consent.
CREATE TABLE meeting_attendees (
    id                 INTEGER PRIMARY KEY,
    meeting_id         INTEGER NOT NULL REFERENCES meetings (id),
    resident_id        INTEGER NOT NULL REFERENCES residents (id),
    household_id       INTEGER NOT NULL REFERENCES households (id),
    invited            INTEGER NOT NULL CHECK (invited IN (0, 1)),
    code_hash          TEXT,
    checked_in_at      TEXT,
    checked_in_by_post INTEGER,
    consent            TEXT
);
CREATE UNIQUE INDEX meeting_attendees_once ON meeting_attendees (meeting_id, resident_id);
CREATE INDEX meeting_attendees_code ON meeting_attendees (code_hash);

CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES meetings (id),
    topic_id    INTEGER REFERENCES topics (id),
    body        TEXT NOT NULL,
    needs_vote  INTEGER NOT NULL CHECK (needs_vote IN (0, 1)),
    state       TEXT NOT NULL CHECK (state IN ('open', 'adopted', 'rejected', 'no_quorum')),
    yes_count       INTEGER NOT NULL,
    no_count       INTEGER NOT NULL,
    abstain_count   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    decided_at  TEXT
);
CREATE INDEX decisions_meeting ON decisions (meeting_id, id);

-- One ballot per resident or per household (ballot_key), as the meeting's vote mode says.
CREATE TABLE decision_votes (
    id            INTEGER PRIMARY KEY,
    decision_id   INTEGER NOT NULL REFERENCES decisions (id),
    resident_id   INTEGER NOT NULL REFERENCES residents (id),
    household_id  INTEGER NOT NULL REFERENCES households (id),
    ballot_key    TEXT NOT NULL,
    choice        TEXT NOT NULL CHECK (choice IN ('yes', 'no', 'abstain')),
    post_id       INTEGER,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX decision_votes_once ON decision_votes (decision_id, ballot_key);

-- A follow-up action is a case; its progress is read from the case.
CREATE TABLE follow_ups (
    id           INTEGER PRIMARY KEY,
    decision_id  INTEGER NOT NULL REFERENCES decisions (id),
    meeting_id   INTEGER NOT NULL REFERENCES meetings (id),
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    action       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX follow_ups_meeting ON follow_ups (meeting_id, id);

-- A dispute case taken to mediation; seen only by the case's owner chain.
CREATE TABLE mediations (
    id                 INTEGER PRIMARY KEY,
    county_id          INTEGER NOT NULL,
    case_id            INTEGER NOT NULL REFERENCES cases (id),
    area_path          TEXT NOT NULL,
    owner_post_id      INTEGER,
    owner_path         TEXT NOT NULL,
    room_id            INTEGER REFERENCES living_rooms (id),
    state              TEXT NOT NULL CHECK (state IN ('open', 'agreed', 'referred', 'followed_up')),
    terms              TEXT,
    referred_to        TEXT,
    follow_up_days     INTEGER NOT NULL,
    follow_up_due      TEXT,
    follow_up_notified TEXT,
    follow_up_visit_id INTEGER,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX mediations_case ON mediations (case_id);
CREATE INDEX mediations_owner_path ON mediations (owner_path, id);
CREATE INDEX mediations_follow_up ON mediations (follow_up_due);

CREATE TABLE mediation_parties (
    id            INTEGER PRIMARY KEY,
    mediation_id  INTEGER NOT NULL REFERENCES mediations (id),
    role          TEXT NOT NULL CHECK (role IN ('party', 'mediator')),
    resident_id   INTEGER REFERENCES residents (id),
    post_id       INTEGER REFERENCES posts (id),
    name          TEXT NOT NULL,
    title         TEXT
);
CREATE INDEX mediation_parties_mediation ON mediation_parties (mediation_id);

CREATE TABLE mediation_sessions (
    id            INTEGER PRIMARY KEY,
    mediation_id  INTEGER NOT NULL REFERENCES mediations (id),
    held_at       TEXT NOT NULL,
    note          TEXT NOT NULL,
    post_id       INTEGER,
    created_at    TEXT NOT NULL
);
CREATE INDEX mediation_sessions_mediation ON mediation_sessions (mediation_id);

-- A grid worker's visit to a household: a note, never a trace (no location, no check-in).
CREATE TABLE visits (
    id            INTEGER PRIMARY KEY,
    county_id     INTEGER NOT NULL,
    grid_id       INTEGER NOT NULL,
    household_id  INTEGER NOT NULL REFERENCES households (id),
    area_path     TEXT NOT NULL,
    visited_on    TEXT NOT NULL,
    found         TEXT NOT NULL,
    follow_up     TEXT,
    case_id       INTEGER REFERENCES cases (id),
    mediation_id  INTEGER REFERENCES mediations (id),
    post_id       INTEGER,
    account_id    INTEGER,
    created_at    TEXT NOT NULL
);
CREATE INDEX visits_household ON visits (household_id, visited_on);
CREATE INDEX visits_area_path ON visits (area_path, visited_on);

CREATE TABLE notices (
    id                  INTEGER PRIMARY KEY,
    county_id           INTEGER NOT NULL,
    area_id             INTEGER NOT NULL REFERENCES areas (id),
    area_path           TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('general', 'village_affairs')),
    title               TEXT NOT NULL,
    body                TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('draft', 'reviewed', 'published', 'withdrawn')),
    drafted_by_post_id  INTEGER,
    reviewed_by_post_id INTEGER,
    published_at        TEXT,
    withdrawn_at        TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX notices_area_path ON notices (area_path, id);

-- Residents rate the holder of a post for a period (or after a meeting), once each.
CREATE TABLE evaluations (
    id           INTEGER PRIMARY KEY,
    county_id    INTEGER NOT NULL,
    post_id      INTEGER NOT NULL REFERENCES posts (id),
    area_path    TEXT NOT NULL,
    period       TEXT NOT NULL,
    meeting_id   INTEGER REFERENCES meetings (id),
    resident_id  INTEGER NOT NULL REFERENCES residents (id),
    score        INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment      TEXT,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX evaluations_once ON evaluations (post_id, period, resident_id);

-- Published results, frozen: later ratings of the period are refused.
CREATE TABLE evaluation_snapshots (
    id            INTEGER PRIMARY KEY,
    post_id       INTEGER NOT NULL REFERENCES posts (id),
    area_path     TEXT NOT NULL,
    period        TEXT NOT NULL,
    ratings       INTEGER NOT NULL,
    score_sum     INTEGER NOT NULL,
    published_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX evaluation_snapshots_once ON evaluation_snapshots (post_id, period);
