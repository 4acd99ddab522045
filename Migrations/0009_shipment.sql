-- picus-journal schema, version 9.
-- Released migrations are never edited: add a new NNNN_name.sql file instead.

-- How far `picus-journal ship` took this journal file to each fleet store, recorded once the store
-- committed. The store keeps the same point under the journal's identity, but a copy of the file
-- keeps that identity too: a journal restored from an older copy has a change clock behind the
-- store's point, and would never ship what it writes until its clock passed that point again. The
-- copy brings back its own, older rows here, and a ship starts from the earlier of the two points.
CREATE TABLE shipment (
    store TEXT NOT NULL,
    agent TEXT NOT NULL,
    changeSeq INTEGER NOT NULL,
    shippedAt INTEGER NOT NULL,
    PRIMARY KEY (store, agent)
);
