-- picus-journal schema, version 6.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- Each endpoint's rate-limit budget, as the last answer that carried X-Ratelimit-* headers told it:
-- how many requests remain until when. Shared by every process on the journal, as holds are. A
-- replayer starts no more sends to an endpoint than its remaining budget (less those in flight)
-- allows; a spent budget also holds the endpoint back until its reset.
CREATE TABLE budget (
    key TEXT PRIMARY KEY,
    remaining INTEGER NOT NULL,
    resetAt INTEGER NOT NULL,
    seenAt INTEGER NOT NULL
);
