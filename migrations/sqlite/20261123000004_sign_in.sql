-- Sign-in options: identities linked to an account besides the one it was created with, local
-- password accounts, one-time set-password links, and the brute-force throttle.

-- An account is created by one identity, kept in users (issuer, subject). Local password accounts
-- use the issuer 'quire:password' and their lower-cased email as the subject, so the same unique
-- constraint keeps their emails unique. Any further identity a person links explicitly from their
-- settings page lives here. An (issuer, subject) belongs to at most one account: the application
-- checks both tables inside the transaction that links or creates.
CREATE TABLE linked_identities (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer         TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    -- The configured provider id it was linked through (for labels), and the email it reported.
    provider       TEXT    NOT NULL,
    email          TEXT,
    linked_at      TEXT    NOT NULL,
    last_login_at  TEXT,
    UNIQUE (issuer, subject)
);
CREATE INDEX linked_identities_by_user ON linked_identities (user_id);

-- Argon2id PHC string; NULL for accounts without a password (every OpenID account, and a local
-- account an admin created whose set-password link is not used yet).
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- One-time set-password links an admin hands over. Only the SHA-256 of the token is stored.
CREATE TABLE password_tokens (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX password_tokens_by_user ON password_tokens (user_id);

-- Failed password logins per key ('account:<email>' or 'ip:<address>'), for growing delays.
-- Shared by every Quire instance that shares the database.
CREATE TABLE login_throttle (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL DEFAULT 0
);
