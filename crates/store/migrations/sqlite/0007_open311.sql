-- Open311 GeoReport v2: what a client sent that a case does not keep, and the updates a
-- client pushed (keyed by the client's own update id, so that a retried POST is one update).
CREATE TABLE open311_requests (
    case_id         INTEGER PRIMARY KEY REFERENCES cases (id),
    post_id         INTEGER NOT NULL REFERENCES posts (id),
    address_string  TEXT,
    media_urls      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE open311_updates (
    id                INTEGER PRIMARY KEY,
    post_id           INTEGER NOT NULL REFERENCES posts (id),
    client_update_id  TEXT NOT NULL,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    event_id          INTEGER NOT NULL REFERENCES case_events (id),
    media_urls        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX open311_updates_client ON open311_updates (post_id, client_update_id);
CREATE INDEX open311_updates_event ON open311_updates (event_id);

-- The public search windows on requested and updated times, per county.
CREATE INDEX cases_open311_created ON cases (county_id, created_at);
CREATE INDEX cases_open311_updated ON cases (county_id, updated_at);
