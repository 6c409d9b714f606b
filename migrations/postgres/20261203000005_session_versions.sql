-- Sessions an instance keeps in memory (app/src/session/store.rs) are used only while their
-- version here is the one that instance wrote: every save of a logged-in session writes a new
-- random version, and logging out deletes the row, so a change made on any instance (or by the
-- command line) is seen at the very next request everywhere. 0: written before versions existed.
ALTER TABLE user_sessions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
