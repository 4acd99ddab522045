-- picus-journal schema, version 5.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- The entries a replayer may claim, in id order: a claim reads from its cursor to the next due
-- entries instead of sorting every waiting entry (which made draining a backlog quadratic). Partial:
-- only waiting entries are in it, so sends and finished entries never touch it.
CREATE INDEX entry_due ON entry(id) WHERE state IN ('queued', 'pending');
