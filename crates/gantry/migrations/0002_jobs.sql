-- Uploaded G-code files and print jobs with their crash-safe journal.

CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,   -- the sanitised display name, also the file name on disk
    size         INTEGER NOT NULL,
    uploaded_at  TEXT    NOT NULL,
    metadata     TEXT                       -- JSON from the gcode crate's scan, thumbnail excluded
);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    printer_id        INTEGER NOT NULL REFERENCES printers (id),
    file_id           INTEGER REFERENCES files (id) ON DELETE SET NULL,
    file_name         TEXT    NOT NULL,
    origin            TEXT    NOT NULL DEFAULT 'local',   -- local | octoprint | cloud
    cloud_job_id      TEXT    UNIQUE,                     -- a cloud job starts at most once
    state             TEXT    NOT NULL,  -- printing | paused | finished | failed | cancelled | interrupted
    total_bytes       INTEGER NOT NULL,
    -- The journal: the last line (1-based, in the file) and byte offset the firmware acknowledged.
    acked_line        INTEGER NOT NULL DEFAULT 0,
    acked_bytes       INTEGER NOT NULL DEFAULT 0,
    resumed_from_line INTEGER,
    resumed_job_id    INTEGER REFERENCES jobs (id),
    message           TEXT,
    created_at        TEXT    NOT NULL,
    started_at        TEXT,
    ended_at          TEXT,
    checkpoint_at     TEXT
);
CREATE INDEX jobs_printer ON jobs (printer_id, id);
CREATE INDEX jobs_state ON jobs (state);
