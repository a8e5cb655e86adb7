-- Remote Access Authentication: browser sessions of visitors who signed in.
-- The cookie carries a random id; only its SHA-256 is stored, so a copy of the
-- database does not hand out live sessions.
CREATE TABLE access_sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    account     TEXT    NOT NULL,
    method      TEXT    NOT NULL,      -- 'os' or 'cloud'
    address     TEXT    NOT NULL,      -- the TCP peer that signed in
    user_agent  TEXT,
    csrf_token  TEXT    NOT NULL,
    tls         INTEGER NOT NULL,      -- 1 when signed in over HTTPS
    created_at  INTEGER NOT NULL,      -- Unix seconds
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,      -- absolute lifetime
    revoked_at  INTEGER
);
CREATE INDEX access_sessions_live ON access_sessions (revoked_at, expires_at);
