import Foundation
import GRDB

/// What changed in a journal past a point of its change clock: the entries as they are now, each
/// with all its attempts, in the order they changed. What `picus-journal ship` copies into a fleet
/// store, as raw column values (in the orders of ``entryColumns`` and ``attemptColumnNames``) so that a
/// batch goes from SQLite to the wire without a model in between.
package struct JournalChanges: Sendable {
    /// The entry columns each of ``entries`` holds: the whole table, `id` being the journal's own id.
    package static let entryColumns = ColumnList(EntryColumn.allCases)

    /// The attempt columns each of ``attempts`` holds, after its entry's uuid (`entryUuid`, position 0).
    package static let attemptColumns = ColumnList(AttemptColumn.recorded, offset: 1)

    /// The names of an attempt row's values, as a fleet store's attempt table spells them.
    package static let attemptColumnNames = ["entryUuid"] + attemptColumns.names

    /// The changed entries, oldest change first.
    package var entries: [[DatabaseValue]]
    /// Their attempts, by entry then number.
    package var attempts: [[DatabaseValue]]
    /// The clock value of the last change in this batch: where the next batch starts.
    package var lastChange: Int64
}

extension Journal {
    /// The random name this journal file was given when its change clock was added: a fleet store
    /// tells two journals shipped under one agent name apart by it.
    package func identity() async throws -> String {
        let path = path
        return try await read { db in
            guard let uuid = try String.fetchOne(db, sql: "SELECT uuid FROM journalIdentity") else {
                throw JournalError(.schemaMismatch, "\(path) has no journal identity; it was altered by hand", path: path)
            }
            return uuid
        }
    }

    /// The journal's change clock: the value of its latest change.
    package func changeClock() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT value FROM changeClock") ?? 0 }
    }

    /// At most `limit` entries that changed after `clock`, oldest change first, with their attempts;
    /// read in one snapshot, so the batch is consistent. A reader only: writers never wait for it.
    package func changes(after clock: Int64, limit: Int) async throws -> JournalChanges {
        try await read { db in
            let changed = "SELECT * FROM entry WHERE changeSeq > ? ORDER BY changeSeq LIMIT ?"
            var entries: [[DatabaseValue]] = []
            entries.reserveCapacity(limit)
            var lastChange = clock
            let entryRows = try Row.fetchCursor(db, sql: """
                SELECT \(JournalChanges.entryColumns.sql()) FROM (\(changed)) ORDER BY changeSeq
                """, arguments: [clock, limit])
            while let row = try entryRows.next() {
                entries.append(Array(row.databaseValues))
                lastChange = row[JournalChanges.entryColumns[.changeSeq]]
            }
            guard !entries.isEmpty else { return JournalChanges(entries: [], attempts: [], lastChange: clock) }
            var attempts: [[DatabaseValue]] = []
            let attemptRows = try Row.fetchCursor(db, sql: """
                SELECT changed.uuid, \(JournalChanges.attemptColumns.sql("attempt"))
                FROM (\(changed)) AS changed JOIN attempt ON attempt.entryId = changed.id
                ORDER BY attempt.entryId, attempt.number
                """, arguments: [clock, limit])
            while let row = try attemptRows.next() { attempts.append(Array(row.databaseValues)) }
            return JournalChanges(entries: entries, attempts: attempts, lastChange: lastChange)
        }
    }
}
