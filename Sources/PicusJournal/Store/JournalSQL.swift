import Foundation
import GRDB

/// The statements of the write path, shared with the benchmark's baseline on SQLite's C API.
package enum JournalSQL {
    /// The write-ahead row, committed before the request leaves.
    package static let insertEntry = """
        INSERT INTO entry (\(ColumnList(EntryColumn.written).sql()))
        VALUES (\(Array(repeating: "?", count: EntryColumn.written.count).joined(separator: ", ")))
        RETURNING id
        """

    /// Moves the change clock past the value a statement stamped on the one row it changed.
    package static let advanceChangeClock = "UPDATE changeClock SET value = value + 1"

    /// An attempt: its number is the sender's, unless another sender recorded past it meanwhile.
    package static let insertAttempt = """
        INSERT INTO attempt (\(ColumnList(insertedAttemptColumns).sql()))
        VALUES (\(insertedAttemptColumns.enumerated().map { index, column in
            column == .number ? "MAX(?\(index + 1), (SELECT COALESCE(MAX(number), 0) + 1 FROM attempt WHERE entryId = ?1))" : "?\(index + 1)"
        }.joined(separator: ", ")))
        RETURNING number
        """

    /// What an attempt's INSERT fills, its entry first (the number's guard reads it as `?1`).
    package static let insertedAttemptColumns: [AttemptColumn] = [.entryId] + AttemptColumn.recorded

    /// Who may record an entry's outcome: its lease holder, read in the recording transaction.
    package static let leaseHolder = "SELECT leaseOwner FROM entry WHERE id = ?"

    /// An attempt's outcome, recorded by the sender that holds the lease (or saw a success on an
    /// entry nobody is sending): the count, the last status and error, and — with a transition
    /// (`moves`) — the state. Plain statements rather than one `UPDATE … FROM … RETURNING` that decides
    /// the holder in SQL, which SQLite runs more slowly (BENCHMARKS.md).
    ///
    /// It stamps the entry with the change clock's next value itself — ``advanceChangeClock`` must
    /// follow in the same transaction — so the change trigger, which stamps only rows whose `changeSeq`
    /// did not move, leaves it alone: one write of the row instead of two on every outcome.
    ///
    /// Parameters, by position (bound by name they cost a dictionary of names per outcome): the
    /// attempt's number, now, status, transport error, error message, error code, whether the state
    /// moves, the state, the next attempt, the server's `notBefore`, the id. An outcome without a move
    /// (a 401 retried inline) keeps the entry and its lease.
    package static let recordHeld = """
        UPDATE entry SET changeSeq = (SELECT value + 1 FROM changeClock),
            attemptCount = MAX(attemptCount, ?1), updatedAt = ?2,
            lastStatus = ?3, lastTransportError = ?4, lastErrorMessage = ?5, lastErrorCode = ?6,
            state = IIF(?7, ?8, state),
            nextAttemptAt = IIF(?7, ?9, nextAttemptAt),
            notBefore = IIF(?7, ?10, notBefore),
            leaseOwner = IIF(?7, NULL, leaseOwner),
            leaseExpiresAt = IIF(?7, NULL, leaseExpiresAt)
        WHERE id = ?11
        """

    /// The columns an outcome changes, as ``Entry/update(fromOutcomeColumns:)`` reads them; the last
    /// attempt's `errors` follow, at ``lastErrorsPosition``.
    static let outcomeColumnList = ColumnList(EntryColumn.changedByOutcome)

    /// Where a read of the outcome's columns has the last attempt's `errors`.
    static let lastErrorsPosition = outcomeColumnList.end

    /// The rest of a claimed entry's columns, after the outcome's and `lastErrors`.
    static let claimedColumnList = ColumnList(
        EntryColumn.documented.filter { !EntryColumn.changedByOutcome.contains($0) }, offset: lastErrorsPosition + 1)

    private static let changingColumns = """
        \(outcomeColumnList.sql()),
            (SELECT errors FROM attempt WHERE attempt.entryId = entry.id AND attempt.number = entry.attemptCount) AS lastErrors
        """

    /// The columns an outcome changes, read back after it is recorded.
    package static let outcomeColumns = "SELECT \(changingColumns) FROM entry WHERE id = ?"

    /// A claimed entry's columns: those an outcome changes, then the rest, in the order
    /// ``Entry/init(claimed:)`` reads them.
    static let claimedColumns = "\(changingColumns), \(claimedColumnList.sql())"

    /// Whether a rate-limit budget is in force for any endpoint. Parameter: now.
    static let anyBudget = "SELECT EXISTS (SELECT 1 FROM budget WHERE resetAt > ? OR windowLimit IS NOT NULL)"

    /// The statement that leases due entries: ranked per endpoint against its budget when one is
    /// in force (`budgeted`), for one entry only when asked `byID`.
    static func claim(budgeted: Bool, byID: Bool) -> String {
        Journal.claimStatements[(budgeted ? 2 : 0) + (byID ? 1 : 0)]
    }
}
