-- picus-journal schema, version 10.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- The endpoint's window size, as the last X-Ratelimit-Limit told it. Once a window has reset, a
-- replayer starts no more sends to the endpoint than this (less those in flight) until the new
-- window's first answer says how many remain: never one per worker, whatever the concurrency.
ALTER TABLE budget ADD COLUMN windowLimit INTEGER;
