-- picus-journal schema, version 8.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- Every move of an entry's state rewrote its key in each (state, …) index: a claim and an outcome
-- paid for four. These two served no query that entry_on_state_createdAt (what is in flight, what
-- waits) and entry_due (what is due) do not serve as well: nothing reads entries in the order of
-- their next attempt or of their lease's expiry, only by state. Without them, an outcome recorded
-- together with the next claim costs SQLite 35-50% less at synchronous = NORMAL (measured).
DROP INDEX entry_on_state_nextAttemptAt;
DROP INDEX entry_on_state_leaseExpiresAt;
