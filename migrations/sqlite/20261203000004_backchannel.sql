-- OpenID Connect back-channel logout: the `jti` of every logout token Quire accepted, until the
-- token would be refused as too old anyway, so that a captured token cannot be replayed — on this
-- instance or any other sharing the database. Keyed by issuer: jti values are unique per issuer.
CREATE TABLE used_logout_tokens (
    issuer      TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    -- Unix seconds after which the token is refused by its age alone; the hourly tidy-up deletes
    -- the row then.
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX used_logout_tokens_by_expiry ON used_logout_tokens (expires_at);
