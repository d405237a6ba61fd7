-- Imports from the web: the uploaded file is checked at once (the preview), and once confirmed
-- it is imported by a background runner. The file stays here until the job ends, so that a job
-- interrupted by a restart is picked up again (imports merge by keys: running one twice is safe).
-- A runner claims a job by setting claimed_by; a running job whose heartbeat is stale is taken
-- over by the next runner.
CREATE TABLE import_jobs (
    id              INTEGER PRIMARY KEY,
    county_id       INTEGER,
    area_path       TEXT NOT NULL,
    area_id         INTEGER REFERENCES areas (id),
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    post_id         INTEGER NOT NULL REFERENCES posts (id),
    state           TEXT NOT NULL CHECK (state IN ('preview', 'queued', 'running', 'done', 'failed')),
    kind            TEXT,
    file_name       TEXT NOT NULL,
    file            BLOB,
    good_rows_only  INTEGER NOT NULL DEFAULT 0,
    rows_total      INTEGER NOT NULL DEFAULT 0,
    rows_done       INTEGER NOT NULL DEFAULT 0,
    preview         TEXT NOT NULL,
    summary         TEXT,
    error           TEXT,
    claimed_by      TEXT,
    heartbeat_at    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT
);
CREATE INDEX import_jobs_pending ON import_jobs (state, id) WHERE state IN ('queued', 'running');
CREATE INDEX import_jobs_area ON import_jobs (area_path, id);
