-- API keys for the OctoPrint-compatible API (slicers, Home Assistant, OctoPrint clients).
-- Only the SHA-256 of each key is kept: the key itself is shown once, when it is made.
-- A key drives one printer, because the OctoPrint API knows only one.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL UNIQUE,
    printer_id  INTEGER NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL
);
