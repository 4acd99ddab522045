-- picus-journal schema, version 4.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- The caller's trace context when the entry was written: the propagation fields its tracer
-- injected (W3C `traceparent` and `tracestate`, or whatever the bootstrapped tracer propagates),
-- as a JSON object. A replay hours later, in another process, continues the same trace from it.
-- NULL when the caller had no trace context.
ALTER TABLE entry ADD COLUMN traceContext TEXT;
