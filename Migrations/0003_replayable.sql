-- picus-journal schema, version 3.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- Whether the entry may ever be replayed, decided once by the retry policy (overrides included)
-- when the entry is written. The claim, abandoned-lease recovery and the client all read it.
ALTER TABLE entry ADD COLUMN isReplayable INTEGER NOT NULL DEFAULT 1;

-- Entries written before this column existed: the token exchange was never replayed.
UPDATE entry SET isReplayable = 0 WHERE endpoint IN ('POST /v1/auth/token', 'POST /v1/auth/refresh');
