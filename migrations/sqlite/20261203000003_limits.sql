-- Limits: a shared registration budget per address, anonymous refusals folded in the audit log,
-- and the one narrow door through which audit retention may delete old rows.

-- Budgets of expensive actions per key ("register:<address>"), counted in fixed windows. In the
-- database, like `login_throttle`, so every instance spends from the same budget.
CREATE TABLE rate_budget (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    used         INTEGER NOT NULL
);

-- Anonymous refusals (logins refused before anyone is known) carry the network they came from
-- (`source`: an IPv4 address or an IPv6 /64). Past a few rows per (action, source) in ten minutes,
-- further ones are folded into the latest row: `repeats` counts them, `last_at` says when the last
-- one happened. See `audit::ssr::record_or_log`.
ALTER TABLE audit_log ADD COLUMN source TEXT;
ALTER TABLE audit_log ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN last_at TEXT;
CREATE INDEX audit_log_by_source ON audit_log (action, source, id DESC) WHERE source IS NOT NULL;

-- The retention door: one row, closed (NULL) except inside the retention transaction, which sets
-- `before` to its cutoff, deletes, records what it removed and closes it again before committing.
-- A plain DELETE on audit_log meets a closed door and fails.
CREATE TABLE audit_retention_gate (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    before TEXT
);
INSERT INTO audit_retention_gate (id, before) VALUES (1, NULL);

-- Still append-only, with two narrow exceptions, each spelt out here:
-- - an update may only raise `repeats` (and move `last_at`); every other column stays as written;
-- - a delete passes only for rows older than the open door's cutoff.
-- `coalesce(…, 0)`: a comparison with NULL must refuse, not slip through.
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT coalesce(
    NEW.repeats > OLD.repeats
    AND NEW.last_at >= OLD.at
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.action IS OLD.action
    AND NEW.actor_id IS OLD.actor_id AND NEW.actor IS OLD.actor
    AND NEW.target_id IS OLD.target_id AND NEW.target IS OLD.target
    AND NEW.detail IS OLD.detail AND NEW.ip IS OLD.ip AND NEW.user_agent IS OLD.user_agent
    AND NEW.source IS OLD.source,
    0)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT coalesce(OLD.at < (SELECT before FROM audit_retention_gate WHERE id = 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- The door itself cannot be removed (without its row every delete would be refused anyway).
CREATE TRIGGER audit_retention_gate_stays BEFORE DELETE ON audit_retention_gate
BEGIN
    SELECT RAISE(ABORT, 'the retention gate cannot be removed');
END;
