-- An attempt may record a transport error kind added after 0001: notReplayed, for an entry a
-- replayer ended unsent because its own policy never replays the endpoint.
--
-- The CHECK on attempt.transportError is widened in place, by SQLite's documented procedure for
-- changing a CHECK constraint (https://sqlite.org/lang_altertable.html#otheralter): every stored row
-- satisfies the wider constraint, so no table is rebuilt and no row is rewritten. The migrator bumps
-- the schema version after it, so that every connection reads the new definition.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, '''abandoned'', ''other'')', '''abandoned'', ''notReplayed'', ''other'')')
WHERE type = 'table' AND name = 'attempt' AND sql NOT LIKE '%''notReplayed''%';
PRAGMA writable_schema = OFF;
