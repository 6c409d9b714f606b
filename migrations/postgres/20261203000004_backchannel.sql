-- PostgreSQL twin of migrations/sqlite/20261203000004_backchannel.sql: the `jti` of every
-- accepted back-channel logout token, until it would be refused as too old anyway (replay defence
-- shared by every instance).
CREATE TABLE used_logout_tokens (
    issuer      TEXT   NOT NULL,
    jti         TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX used_logout_tokens_by_expiry ON used_logout_tokens (expires_at);
