import Foundation
import GRDBSQLite
import PicusJournal

/// The baseline of the journal's write path: the same statements on SQLite's C API — same schema
/// (a journal `Journal` created), same pragmas, prepared once, one transaction per commit point,
/// one thread. What the journal adds above it is its own cost.
/// Used by one task at a time, in sequence.
final class RawSQLite: @unchecked Sendable {
    private var db: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]

    /// Opens `path`, a journal made by `Journal(path:)`, with the pragmas the journal sets.
    init(path: String, synchronous: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else { throw failure("open") }
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = \(synchronous)", "PRAGMA foreign_keys = ON",
                       "PRAGMA temp_store = MEMORY"] {
            guard sqlite3_exec(db, pragma, nil, nil, nil) == SQLITE_OK else { throw failure(pragma) }
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    /// One request's journal work: the write-ahead insert committed, then the attempt and the
    /// entry's outcome committed.
    func writeAheadAndRecord(uuid: String, now: Int64) throws {
        try run("BEGIN IMMEDIATE")
        let insert = try statement(JournalSQL.insertEntry)
        let values: [Value] = [.text(uuid), .int(now), .int(now), .text("http://127.0.0.1"), .text("GET"), .text("/v1/agents"),
                               .text("GET /v1/agents"), .null, .text(#"{"authorization":"Bearer <redacted>"}"#), .null,
                               .text("inFlight"), .null, .text("bench"), .int(now + 60_000), .int(1), .null]
        for (index, value) in values.enumerated() { bind(value, at: Int32(index + 1), in: insert) }
        guard sqlite3_step(insert) == SQLITE_ROW else { throw failure("insert entry") }
        let id = sqlite3_column_int64(insert, 0)
        sqlite3_reset(insert)
        try run("COMMIT")

        try run("BEGIN IMMEDIATE")
        // The same statements as `Journal.record`: who holds the entry, the attempt, the outcome, the
        // change clock, the outcome's columns read back.
        let holder = try statement(JournalSQL.leaseHolder)
        sqlite3_bind_int64(holder, 1, id)
        guard sqlite3_step(holder) == SQLITE_ROW else { throw failure("read the lease") }
        sqlite3_reset(holder)
        let attempt = try statement(JournalSQL.insertAttempt)
        let attemptValues: [Value] = [.int(id), .int(1), .int(now), .real(1), .int(200), .null, .text("success"),
                                      .text(#"{"content-type":"application/json"}"#)] + Array(repeating: .null, count: 10)
        for (index, value) in attemptValues.enumerated() { bind(value, at: Int32(index + 1), in: attempt) }
        guard sqlite3_step(attempt) == SQLITE_ROW else { throw failure("insert attempt") }
        let number = sqlite3_column_int64(attempt, 0)
        sqlite3_reset(attempt)
        let record = try statement(JournalSQL.recordHeld)
        let outcome: [Value] = [.int(number), .int(now), .int(200), .null, .null, .null,
                                .int(1), .text(EntryState.succeeded.rawValue), .null, .null, .int(id)]
        for (index, value) in outcome.enumerated() { bind(value, at: Int32(index + 1), in: record) }
        guard sqlite3_step(record) == SQLITE_DONE else { throw failure("record the outcome") }
        sqlite3_reset(record)
        let clock = try statement(JournalSQL.advanceChangeClock)
        guard sqlite3_step(clock) == SQLITE_DONE else { throw failure("advance the change clock") }
        sqlite3_reset(clock)
        let readBack = try statement(JournalSQL.outcomeColumns)
        sqlite3_bind_int64(readBack, 1, id)
        guard sqlite3_step(readBack) == SQLITE_ROW else { throw failure("read the outcome back") }
        sqlite3_reset(readBack)
        try run("COMMIT")
    }

    private func statement(_ sql: String) throws -> OpaquePointer {
        if let prepared = statements[sql] { return prepared }
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil) == SQLITE_OK, let prepared else {
            throw failure("prepare")
        }
        statements[sql] = prepared
        return prepared
    }

    private func run(_ sql: String) throws {
        let prepared = try statement(sql)
        guard sqlite3_step(prepared) == SQLITE_DONE else { throw failure(sql) }
        sqlite3_reset(prepared)
    }

    /// A value to bind.
    enum Value {
        case text(String), int(Int64), real(Double), null
    }

    private func bind(_ value: Value, at index: Int32, in statement: OpaquePointer) {
        switch value {
        case .text(let text): sqlite3_bind_text(statement, index, text, -1, transient)
        case .int(let number): sqlite3_bind_int64(statement, index, number)
        case .real(let number): sqlite3_bind_double(statement, index, number)
        case .null: sqlite3_bind_null(statement, index)
        }
    }

    private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func failure(_ doing: String) -> SQLiteFailure {
        SQLiteFailure(description: "\(doing): \(String(cString: sqlite3_errmsg(db)))")
    }
}

/// A failure of the C API, with SQLite's message.
struct SQLiteFailure: Error, CustomStringConvertible {
    let description: String
}
