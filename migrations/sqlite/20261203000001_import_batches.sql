-- Imports run in short batches (app/src/entries/transfer.rs), so they need:

-- 1. A duplicate check whose cost per item does not depend on how many entries share a day: a
--    digest of (day, title, body), written with every entry (app/src/entries/repo.rs) and
--    indexed per person. Rows written before this migration get theirs at start-up.
ALTER TABLE entries ADD COLUMN content_digest TEXT;
CREATE INDEX entries_by_digest ON entries (user_id, content_digest);

-- 2. Somewhere to keep an import's progress and report while it runs in the background, readable
--    by whichever page (or instance) the person looks at. One row per import; the newest is shown.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name     TEXT    NOT NULL,
    -- running, finished or failed; a running import whose updated_at is old was interrupted.
    state         TEXT    NOT NULL,
    total         INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    imported      INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    -- JSON array of at most app::entries::IMPORT_PROBLEMS_SHOWN shortened problems.
    problems      TEXT    NOT NULL DEFAULT '[]',
    problem_count INTEGER NOT NULL DEFAULT 0,
    failed        TEXT,
    started_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX imports_by_user ON imports (user_id, id DESC);

-- 3. Search: FTS5 prefix indexes for 3-letter prefixes (the shortest the search box treats as a
--    prefix, app/src/entries/search.rs), so a prefix term reads one index range.
DROP TABLE entries_fts;
CREATE VIRTUAL TABLE entries_fts USING fts5 (
    title, body,
    content = 'entries', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '3'
);
INSERT INTO entries_fts (entries_fts) VALUES ('rebuild');
