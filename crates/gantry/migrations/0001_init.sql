-- Gantry's store. `application_id` marks the file as Gantry's so that a foreign
-- SQLite database handed to --data-dir is refused instead of being migrated over.
PRAGMA application_id = 1195462228; -- 'GANT' as a big-endian u32

CREATE TABLE printers (
    id             INTEGER PRIMARY KEY,
    -- Stable identity: usb-serial:..., usb:VID:PID@path, or port:path (see printer identity rules).
    identity       TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    profile        TEXT,
    port           TEXT    NOT NULL,
    baud           INTEGER,
    firmware_name  TEXT,
    firmware_uuid  TEXT,
    machine_type   TEXT,
    first_seen     TEXT    NOT NULL,
    last_seen      TEXT    NOT NULL
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL, -- JSON
    updated_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    event    TEXT NOT NULL,
    address  TEXT,
    account  TEXT,
    detail   TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
