-- The words of the full-text index, for completing the last word of a search into the words it
-- starts (app/src/entries/repo.rs, fts5_query). A read-only view that FTS5 computes from the index
-- on demand: it stores nothing. SQLite only: PostgreSQL's prefix search needs no such help.
CREATE VIRTUAL TABLE entries_fts_terms USING fts5vocab(entries_fts, row);
