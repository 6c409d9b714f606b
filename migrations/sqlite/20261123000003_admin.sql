-- Administration: where an account's admin role comes from, disabling, the session index that
-- makes "sign out everywhere" instant, the sign-up policy, and the audit log.

-- `role` stays the effective role. It is admin when any source holds:
--   admin_by_email  the verified email was in QUIRE_ADMIN_EMAILS at the last login
--   admin_by_group  the provider's groups claim named an admin group at the last login
--   promoted        an admin promoted the account in the dashboard (or the command line did)
-- The first two are recomputed at every login; `promoted` changes only by an admin's hand.
ALTER TABLE users ADD COLUMN admin_by_email INTEGER NOT NULL DEFAULT 0 CHECK (admin_by_email IN (0, 1));
ALTER TABLE users ADD COLUMN admin_by_group INTEGER NOT NULL DEFAULT 0 CHECK (admin_by_group IN (0, 1));
ALTER TABLE users ADD COLUMN promoted INTEGER NOT NULL DEFAULT 0 CHECK (promoted IN (0, 1));
-- When set (RFC 3339), the account cannot log in and has no sessions.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
-- Unix seconds: sessions of this account that logged in earlier are void ("sign out everywhere").
ALTER TABLE users ADD COLUMN sessions_valid_from INTEGER NOT NULL DEFAULT 0;
-- Last request of a logged-in session, at most a minute stale (updated when the session is touched).
ALTER TABLE users ADD COLUMN last_seen_at TEXT;

UPDATE users SET admin_by_email = 1 WHERE role = 'admin';
UPDATE users SET last_seen_at = last_login_at;

CREATE INDEX users_role ON users (role) WHERE role = 'admin';

-- Which session records belong to which account. Session records are opaque to SQL (the session
-- store keeps them serialised), so the session store keeps this index beside them; revoking an
-- account's sessions deletes every record listed here. No foreign key on purpose: when an account
-- is deleted its rows must outlive it until its sessions are revoked (the store then removes both).
CREATE TABLE user_sessions (
    session_id   TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    logged_in_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);

-- Settings admins edit in the dashboard. Environment variables override them.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Who did what, to whom, when, from where. Labels are snapshots ("Ada Admin <admin@example.com>")
-- so the log still reads after an account is deleted. Nothing secret goes in: no tokens, no
-- entry content.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    actor_id   INTEGER,
    actor      TEXT    NOT NULL,
    target_id  INTEGER,
    target     TEXT,
    detail     TEXT    NOT NULL DEFAULT '',
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX audit_log_by_action ON audit_log (action, id DESC);

-- Append-only: the application only ever inserts.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The dashboard's "entries written per day" chart and 7-day count.
CREATE INDEX entries_by_created ON entries (created_at);
