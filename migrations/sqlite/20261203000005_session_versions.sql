-- Sessions an instance keeps in memory (app/src/session/store.rs) are used only while their
-- version here is the one that instance wrote: every save of a logged-in session writes a new
-- random version, and logging out deletes the row, so a change made on any instance (or by the
-- command line) is seen at the very next request everywhere. 0: written before versions existed.
ALTER TABLE user_sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- tower-sessions' own table, with the definition its `SqliteStore::migrate` uses. That call used
-- to create it at start-up, after pooled connections had read the schema, and the schema change
-- made the first full-text-indexed statement on such a connection fail once with "no such table:
-- entries" (seen as an ERROR from the first trash purge on a fresh database). Created here, with
-- the other tables, the store's `create table if not exists` finds it and changes nothing.
CREATE TABLE IF NOT EXISTS tower_sessions (
    id text primary key not null,
    data blob not null,
    expiry_date integer not null
);
