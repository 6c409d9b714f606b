-- SQLite's half of this migration adds `entries_fts_terms`, the words of its full-text index, so a
-- search's last word can be completed into whole words before the query runs. PostgreSQL's GIN
-- index answers a prefix (`word:*`) directly and needs nothing; this file keeps the two backends'
-- migrations numbered alike.
SELECT 1;
