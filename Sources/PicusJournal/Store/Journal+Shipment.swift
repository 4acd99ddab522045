import Foundation
import GRDB

/// The journal's own record of how far it was shipped to each fleet store (`Migrations/0009_shipment.sql`).
extension Journal {
    /// How far this journal file was shipped to `store` under `agent`, as it recorded itself: the
    /// change clock the last batch the store committed reached; nil when it recorded none.
    ///
    /// A file restored from an older copy answers with the copy's value, however far the store went since.
    package func shippedClock(to store: String, as agent: String) async throws -> Int64? {
        try await read { db in
            // A journal opened read-only is not migrated: one older than schema 9 has no record.
            guard try db.tableExists("shipment") else { return nil }
            return try Int64.fetchOne(db, sql: "SELECT changeSeq FROM shipment WHERE store = ? AND agent = ?", arguments: [store, agent])
        }
    }

    /// Records that `store` committed everything of this journal up to `clock` under `agent`. It
    /// replaces the previous record, lower or not: a store restored from a backup is behind too.
    /// A journal opened read-only records nothing.
    package func recordShipment(to store: String, as agent: String, clock: Int64, at date: Date) async throws {
        guard !isReadOnly else { return }
        try await write("record a shipment in") { db in
            try db.execute(sql: """
                INSERT INTO shipment (store, agent, changeSeq, shippedAt) VALUES (?, ?, ?, ?)
                ON CONFLICT (store, agent) DO UPDATE SET changeSeq = excluded.changeSeq, shippedAt = excluded.shippedAt
                """, arguments: [store, agent, clock, date.unixMilliseconds])
        }
    }

    /// Moves the change clock up to `clock` when it is behind, as it is in a journal restored from an
    /// older copy: the store compares an entry's copies by their clock values, and this journal's
    /// next changes must count as newer there than what it shipped before the restore.
    /// A journal opened read-only is left as it is.
    package func advanceChangeClock(to clock: Int64) async throws {
        guard !isReadOnly else { return }
        try await write("move the change clock of") { db in
            try db.execute(sql: "UPDATE changeClock SET value = ? WHERE value < ?", arguments: [clock, clock])
        }
    }
}
