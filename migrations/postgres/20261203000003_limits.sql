-- PostgreSQL twin of migrations/sqlite/20261203000003_limits.sql: the shared registration
-- budget, folded anonymous refusals, and the narrow door for audit retention.

CREATE TABLE rate_budget (
    key          TEXT   PRIMARY KEY,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL
);

ALTER TABLE audit_log ADD COLUMN source TEXT;
ALTER TABLE audit_log ADD COLUMN repeats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN last_at TEXT;
CREATE INDEX audit_log_by_source ON audit_log (action, source, id DESC) WHERE source IS NOT NULL;

-- Still append-only, with two narrow exceptions:
-- - an UPDATE may only raise `repeats` (and move `last_at`); every other column stays as written;
-- - a DELETE passes only for rows older than the cutoff the retention transaction names in the
--   transaction-local setting `quire.audit_retention_before` (`set_config(…, true)`): a plain
--   DELETE, which sets nothing, is refused. TRUNCATE is always refused.
-- Timestamps are RFC 3339 UTC text of one width, compared byte-wise (COLLATE "C").
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.repeats > OLD.repeats
           AND NEW.last_at IS NOT NULL
           AND NEW.last_at COLLATE "C" >= OLD.at COLLATE "C"
           AND (NEW.id, NEW.at, NEW.action, NEW.actor_id, NEW.actor, NEW.target_id, NEW.target,
                NEW.detail, NEW.ip, NEW.user_agent, NEW.source)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.at, OLD.action, OLD.actor_id, OLD.actor, OLD.target_id, OLD.target,
                OLD.detail, OLD.ip, OLD.user_agent, OLD.source)
        THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        cutoff := nullif(current_setting('quire.audit_retention_before', true), '');
        IF cutoff IS NOT NULL AND OLD.at COLLATE "C" < cutoff COLLATE "C" THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
