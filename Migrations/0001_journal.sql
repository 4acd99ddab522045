-- picus-journal schema, version 1.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.
-- Timestamps are unix milliseconds, as the Picus API uses them.

-- 'PICJ': lets the journal recognise its own files and refuse foreign SQLite databases.
PRAGMA application_id = 1346978634;

-- One logical request, written before it leaves the process.
CREATE TABLE entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Also sent as the Idempotency-Key header on every attempt.
    uuid TEXT NOT NULL UNIQUE,
    createdAt INTEGER NOT NULL,
    updatedAt INTEGER NOT NULL,
    -- The base URL it was sent to, such as 'https://api.picussecurity.com'.
    origin TEXT,
    method TEXT NOT NULL,
    -- The path without its query string.
    path TEXT NOT NULL,
    -- Method and path with id segments folded ('GET /v1/agents/{id}'): the unit of rate limits.
    endpoint TEXT NOT NULL,
    -- The query string without its leading '?', or NULL.
    query TEXT,
    -- Request headers as a JSON object, redacted: never a token.
    requestHeaders TEXT NOT NULL DEFAULT '{}',
    -- Kept for replay. Auth exchanges are stored redacted and never replayed.
    requestBody BLOB,
    state TEXT NOT NULL CHECK (state IN
        ('pending', 'inFlight', 'succeeded', 'failed', 'queued', 'expired', 'cancelled')),
    attemptCount INTEGER NOT NULL DEFAULT 0,
    -- Denormalised from the last attempt, for the list filters.
    lastStatus INTEGER,
    lastTransportError TEXT,
    lastErrorMessage TEXT,
    lastErrorCode TEXT,
    nextAttemptAt INTEGER,
    -- The earliest time the server allowed (Retry-After, X-Ratelimit-Reset); even --force waits for it.
    notBefore INTEGER,
    leaseOwner TEXT,
    leaseExpiresAt INTEGER
);

CREATE INDEX entry_on_createdAt ON entry(createdAt);
CREATE INDEX entry_on_lastStatus_createdAt ON entry(lastStatus, createdAt);
CREATE INDEX entry_on_state_createdAt ON entry(state, createdAt);
CREATE INDEX entry_on_state_nextAttemptAt ON entry(state, nextAttemptAt);
CREATE INDEX entry_on_state_leaseExpiresAt ON entry(state, leaseExpiresAt);
CREATE INDEX entry_on_state_updatedAt ON entry(state, updatedAt);
CREATE INDEX entry_on_path_createdAt ON entry(path, createdAt);
CREATE INDEX entry_on_method_createdAt ON entry(method, createdAt);
CREATE INDEX entry_on_lastErrorCode_createdAt ON entry(lastErrorCode, createdAt);

-- One try of an entry: what was sent when, and what came back.
CREATE TABLE attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entryId INTEGER NOT NULL REFERENCES entry(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    startedAt INTEGER NOT NULL,
    durationMs REAL NOT NULL,
    -- The HTTP status, or NULL when the transport failed.
    status INTEGER,
    transportError TEXT CHECK (transportError IN
        ('offline', 'refused', 'reset', 'timeout', 'dns', 'tls', 'cancelled', 'auth', 'abandoned', 'other')),
    -- What the client decided: success, permanent, retryable or refresh.
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'permanent', 'retryable', 'refresh')),
    -- Response headers as a JSON object, redacted.
    responseHeaders TEXT,
    -- The decoded Picus error envelope.
    errorMessage TEXT,
    errorCode TEXT,
    errors TEXT,
    bodyKind TEXT CHECK (bodyKind IN ('json', 'text', 'html', 'empty', 'binary')),
    -- The raw response body of a non-2xx answer, capped; bodySize is its size before the cap.
    body BLOB,
    bodySize INTEGER,
    retryAfterMs INTEGER,
    rateLimitLimit INTEGER,
    rateLimitRemaining INTEGER,
    rateLimitReset INTEGER,
    UNIQUE (entryId, number)
);

-- Who may not be sent to until when: an endpoint after a 429 ('GET /v1/agents'), or the whole
-- host ('*') after consecutive outages. Shared by every process that replays the journal.
CREATE TABLE hold (
    key TEXT PRIMARY KEY,
    until INTEGER NOT NULL,
    reason TEXT NOT NULL,
    setAt INTEGER NOT NULL
);
