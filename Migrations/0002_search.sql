-- Substring search over the error messages of attempts (`picus-journal list --grep`): a trigram
-- index, so "valid" finds "validation error", case-insensitively.
-- Needs SQLite's FTS5; where the system SQLite lacks it, picus-journal records this migration
-- without running it and searches with LIKE instead.

CREATE VIRTUAL TABLE attemptSearch USING fts5(errorMessage, content = 'attempt', content_rowid = 'id', tokenize = 'trigram');

-- Index the history already written.
INSERT INTO attemptSearch (rowid, errorMessage) SELECT id, errorMessage FROM attempt WHERE errorMessage IS NOT NULL;

CREATE TRIGGER attempt_after_insert_search AFTER INSERT ON attempt WHEN new.errorMessage IS NOT NULL BEGIN
    INSERT INTO attemptSearch (rowid, errorMessage) VALUES (new.id, new.errorMessage);
END;

CREATE TRIGGER attempt_after_delete_search AFTER DELETE ON attempt WHEN old.errorMessage IS NOT NULL BEGIN
    INSERT INTO attemptSearch (attemptSearch, rowid, errorMessage) VALUES ('delete', old.id, old.errorMessage);
END;
