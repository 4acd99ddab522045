-- picus-journal fleet store, version 1: the journals of many agents, shipped into PostgreSQL.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.
-- Tables live in the picus_journal schema, created before this runs. Column names are the
-- journal's, so one JournalQuery compiles to both; timestamps are unix milliseconds, as there.

-- One row per shipped journal: how far its changes were shipped. Updated in the same transaction
-- as the rows it covers, so a ship killed at any point resumes exactly where its last commit ended.
CREATE TABLE picus_journal.shipment (
    agent TEXT NOT NULL,
    journalUuid TEXT NOT NULL,
    changeSeq BIGINT NOT NULL,
    shippedAt BIGINT NOT NULL,
    PRIMARY KEY (agent, journalUuid)
);

-- One logical request of one agent. `id` is the fleet's own id (what list and show print);
-- `localId` is the id in the agent's journal; `changeSeq` its journal's change clock when it was
-- shipped: an older copy never overwrites a newer one.
CREATE TABLE picus_journal.entry (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID NOT NULL UNIQUE,
    agent TEXT NOT NULL,
    localId BIGINT NOT NULL,
    changeSeq BIGINT NOT NULL,
    createdAt BIGINT NOT NULL,
    updatedAt BIGINT NOT NULL,
    origin TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    query TEXT,
    requestHeaders TEXT NOT NULL,
    requestBody BYTEA,
    state TEXT NOT NULL,
    attemptCount INTEGER NOT NULL,
    lastStatus INTEGER,
    lastTransportError TEXT,
    lastErrorMessage TEXT,
    lastErrorCode TEXT,
    nextAttemptAt BIGINT,
    notBefore BIGINT,
    leaseOwner TEXT,
    leaseExpiresAt BIGINT,
    isReplayable BOOLEAN NOT NULL,
    traceContext TEXT
);

-- The read side's filters, each with the newest-first order.
CREATE INDEX entry_on_createdAt ON picus_journal.entry (createdAt, id);
CREATE INDEX entry_on_agent_createdAt ON picus_journal.entry (agent, createdAt);
CREATE INDEX entry_on_lastStatus_createdAt ON picus_journal.entry (lastStatus, createdAt);
CREATE INDEX entry_on_state_createdAt ON picus_journal.entry (state, createdAt);
CREATE INDEX entry_on_method_createdAt ON picus_journal.entry (method, createdAt);
-- A path glob becomes an anchored regular expression; its literal prefix is a range of this index
-- (text_pattern_ops: byte order, whatever the database's collation).
CREATE INDEX entry_on_path ON picus_journal.entry (path text_pattern_ops);
-- Partial: most entries carry no error_code, and a filter on one implies it is not null.
CREATE INDEX entry_on_lastErrorCode_createdAt ON picus_journal.entry (lastErrorCode, createdAt) WHERE lastErrorCode IS NOT NULL;

-- One try of an entry, identified by the entry's uuid and its number. Never changes once written.
-- No foreign key: ship writes an entry before its attempts in the same transaction, and checking a
-- key per attempt cost 15-20% of the ship rate. Deleting entries deletes their attempts explicitly.
CREATE TABLE picus_journal.attempt (
    entryUuid UUID NOT NULL,
    number INTEGER NOT NULL,
    startedAt BIGINT NOT NULL,
    durationMs DOUBLE PRECISION NOT NULL,
    status INTEGER,
    transportError TEXT,
    outcome TEXT NOT NULL,
    responseHeaders TEXT,
    errorMessage TEXT,
    errorCode TEXT,
    errors TEXT,
    bodyKind TEXT,
    body BYTEA,
    bodySize BIGINT,
    retryAfterMs BIGINT,
    rateLimitLimit BIGINT,
    rateLimitRemaining BIGINT,
    rateLimitReset BIGINT,
    PRIMARY KEY (entryUuid, number)
);
