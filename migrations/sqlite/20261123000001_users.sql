-- Accounts. A person is identified by (issuer, subject) from their OpenID provider, never by email:
-- email, name and email_verified are attributes refreshed at each login.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    issuer         TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    display_name   TEXT    NOT NULL,
    role           TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at     TEXT    NOT NULL,
    last_login_at  TEXT    NOT NULL,
    UNIQUE (issuer, subject)
);

CREATE INDEX users_email ON users (email);
