import Foundation
import GRDB
import PicusJournal
import PicusJournalTesting

/// A journal of many failed entries, written through the library as a sender would leave them.
package struct ManyEntries {
    package let folder: TemporaryFolder
    package let journal: Journal

    /// Writes `count` entries, each failed with one 422 whose message is `message(index)`. Every
    /// three share a creation time, so pages and batches end between entries that only their ids order.
    ///
    /// - Parameter firstID: The id of the first entry; later ones count up from it.
    package init(count: Int, firstID: Int64? = nil, errors: (Int) -> String? = { _ in nil },
         message: (Int) -> String = { "validation error \($0)" }) async throws {
        folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        journal = try Journal(path: path)
        if let firstID {
            // AUTOINCREMENT takes the next id from sqlite_sequence.
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('entry', ?)", arguments: [firstID - 1])
            }
            try queue.close()
        }
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        for index in 0..<count {
            let created = start.addingTimeInterval(Double(index / 3))
            let entry = try await journal.insert(NewEntry(
                method: "POST", path: "/v1/simulations", headers: [:], state: .inFlight, leaseOwner: "seed", createdAt: created))
            let body = #"{"message":\#(JSONValue.string(message(index)).jsonText)\#(errors(index).map { #","errors":\#($0)"# } ?? "")}"#
            _ = try await journal.record(
                NewAttempt(number: 1, startedAt: created, durationMs: 3, status: 422, outcome: .permanent,
                           responseHeaders: ["content-type": "application/json"], error: ErrorBody.decode(Data(body.utf8))),
                forEntry: entry.id, leaseOwner: "seed", then: EntryTransition(state: .failed, nextAttemptAt: nil))
        }
    }

    /// Every entry, newest first, as the library reads them in one go.
    package func all() async throws -> [Entry] {
        try await journal.entries(matching: JournalQuery(limit: nil))
    }

    package func list(_ arguments: [String]) async throws -> CommandResult {
        try await runCLI(["list", "--db", journal.path] + arguments, in: folder)
    }
}
