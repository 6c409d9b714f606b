-- Accounts hardening: account ids are never given out twice, every account carries a random
-- `session_key` its sessions must match, set-password links for accounts that already have a way
-- in wait for a second admin, and notices an account's owner reads at their next login.
--
-- SQLite reuses the largest rowid of a deleted row unless the key is AUTOINCREMENT, so an account
-- deleted last would hand its id to the next one (and with it anything still keyed by that id).
-- Adding AUTOINCREMENT needs the table rebuilt. `db::Pool::migrate` runs migrations with foreign
-- key enforcement off and checks every foreign key afterwards, so dropping the old table does not
-- cascade into entries, linked identities and tokens: their `REFERENCES users (id)` simply resolve
-- to the new table once it takes the name (SQLite's documented twelve-step table rebuild).
-- `INSERT … SELECT *` fails (and the start-up with it) should the table have columns this file
-- does not know, rather than dropping them.

CREATE TABLE users_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    issuer              TEXT    NOT NULL,
    subject             TEXT    NOT NULL,
    email               TEXT,
    email_verified      INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    display_name        TEXT    NOT NULL,
    role                TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at          TEXT    NOT NULL,
    last_login_at       TEXT    NOT NULL,
    admin_by_email      INTEGER NOT NULL DEFAULT 0 CHECK (admin_by_email IN (0, 1)),
    admin_by_group      INTEGER NOT NULL DEFAULT 0 CHECK (admin_by_group IN (0, 1)),
    promoted            INTEGER NOT NULL DEFAULT 0 CHECK (promoted IN (0, 1)),
    disabled_at         TEXT,
    sessions_valid_from INTEGER NOT NULL DEFAULT 0,
    last_seen_at        TEXT,
    password_hash       TEXT,
    -- Random per account, copied into each session at login and compared whenever the session is
    -- loaded: a session can only ever act as the very account that logged in, even should an id
    -- come back (a restored backup, a hand-edited database).
    session_key         TEXT    NOT NULL DEFAULT (lower(hex(randomblob(16)))),
    UNIQUE (issuer, subject)
);

INSERT INTO users_new SELECT *, lower(hex(randomblob(16))) FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_email ON users (email);
CREATE INDEX users_role ON users (role) WHERE role = 'admin';

-- The old table did not remember ids deleted from its top; the audit log and the session index
-- still name them. New accounts start above every id ever seen.
DELETE FROM sqlite_sequence WHERE name = 'users';
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', MAX(
    (SELECT COALESCE(MAX(id), 0) FROM users),
    (SELECT COALESCE(MAX(target_id), 0) FROM audit_log),
    (SELECT COALESCE(MAX(actor_id), 0) FROM audit_log),
    (SELECT COALESCE(MAX(user_id), 0) FROM user_sessions)
);

-- A set-password link for an account that already has a way in (a password, a linked provider,
-- or a past login) is first a request; a second, different admin approves it in the dashboard and
-- only then is the link made. One pending request per account; a request dies with either
-- account.
CREATE TABLE password_link_requests (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    requested_by    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- "Ada Admin <ada@example.com>", as the approving admin sees it.
    requester_label TEXT    NOT NULL,
    -- Unix seconds.
    requested_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX password_link_requests_by_requester ON password_link_requests (requested_by);

-- Things an account's owner must hear about at their next login ("an administrator issued a
-- set-password link for your account"). Moved into the session at login, then deleted.
CREATE TABLE account_notices (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX account_notices_by_user ON account_notices (user_id);
