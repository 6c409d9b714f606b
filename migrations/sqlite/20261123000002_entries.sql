-- Journal entries. Every query on these tables is scoped by user_id (see app/src/entries/repo.rs).
CREATE TABLE entries (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL DEFAULT '',
    -- Plain-text start of the body, computed on write so listing pages never parse Markdown.
    excerpt     TEXT    NOT NULL DEFAULT '',
    -- The day the entry is about (YYYY-MM-DD), which is not necessarily when it was written.
    entry_date  TEXT    NOT NULL,
    -- Tags, denormalised for listing (one per line); entry_tags is the source for filters and counts.
    tags        TEXT    NOT NULL DEFAULT '',
    -- Optimistic concurrency: every update must name the version it started from.
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    -- Set when moved to the trash; purged 30 days later.
    deleted_at  TEXT
);

-- Keyset pagination of a person's entries, newest day first, then newest id; also finds an
-- entry by day (import's duplicate check). Not partial: trashed rows are few and filtered.
CREATE INDEX entries_by_user_day ON entries (user_id, entry_date DESC, id DESC);
CREATE INDEX entries_trash ON entries (user_id, deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE entry_tags (
    entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL,
    tag      TEXT    NOT NULL,
    PRIMARY KEY (entry_id, tag)
) WITHOUT ROWID;
CREATE INDEX entry_tags_by_user ON entry_tags (user_id, tag);

-- Full-text search over titles and bodies, kept in step by triggers.
CREATE VIRTUAL TABLE entries_fts USING fts5 (
    title, body,
    content = 'entries', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER entries_fts_update AFTER UPDATE OF title, body ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO entries_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
