-- picus-journal schema, version 7.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- What changed since a point: `picus-journal ship` copies the entries whose changeSeq is past the
-- last one it shipped, so an entry shipped while queued is shipped again once a replay settles it.
-- Every insert and update of an entry (written, claimed, an attempt recorded, requeued, cancelled)
-- stamps it with the next value of one journal-wide clock; the clock only moves forward, even when
-- prune deletes the entries that held its latest values.
CREATE TABLE changeClock (value INTEGER NOT NULL);
INSERT INTO changeClock (value) SELECT COALESCE(MAX(id), 0) FROM entry;

ALTER TABLE entry ADD COLUMN changeSeq INTEGER NOT NULL DEFAULT 0;
UPDATE entry SET changeSeq = id;
CREATE INDEX entry_on_changeSeq ON entry(changeSeq);

CREATE TRIGGER entry_after_insert_change AFTER INSERT ON entry BEGIN
    UPDATE changeClock SET value = value + 1;
    UPDATE entry SET changeSeq = (SELECT value FROM changeClock) WHERE id = new.id;
END;

-- The stamp's own update leaves changeSeq changed, so it does not stamp again.
CREATE TRIGGER entry_after_update_change AFTER UPDATE ON entry WHEN new.changeSeq = old.changeSeq BEGIN
    UPDATE changeClock SET value = value + 1;
    UPDATE entry SET changeSeq = (SELECT value FROM changeClock) WHERE id = new.id;
END;

-- Names this journal file in a fleet store: a journal made anew under the same agent name
-- starts its shipping from its own beginning.
CREATE TABLE journalIdentity (uuid TEXT NOT NULL);
INSERT INTO journalIdentity (uuid) VALUES (lower(hex(randomblob(16))));
