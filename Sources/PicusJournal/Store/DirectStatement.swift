import Foundation
import GRDB
import GRDBSQLite

/// One of the statements every request runs, bound and stepped on SQLite's C API.
///
/// The statement is GRDB's cached one — prepared once per connection, finalized with it — but its
/// values go in and out directly: on the two writes of every request, GRDB's arguments, cursors and
/// row objects cost about as much as the statements themselves (perf, the journal alone at
/// `synchronous = NORMAL`). Used inside a write of the journal, on the writer's queue.
struct DirectStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer?

    /// The cached statement for `sql`, reset, with `values` bound to its parameters in order.
    init(_ db: Database, _ sql: String, _ values: [(any DatabaseValueConvertible)?]) throws {
        handle = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection
        // The previous run's error, if any, was thrown when it happened.
        sqlite3_reset(handle)
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    /// The cached statement for `sql`, reset, with `values` bound to its named parameters
    /// (`:name`); a name the statement does not have is passed over, so one list of values serves
    /// every shape of a statement.
    init(_ db: Database, _ sql: String, named values: [(String, (any DatabaseValueConvertible)?)]) throws {
        handle = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection
        sqlite3_reset(handle)
        for (name, value) in values {
            let index = sqlite3_bind_parameter_index(handle, ":" + name)
            if index > 0 { try bind(value, at: index) }
        }
    }

    private func bind(_ value: (any DatabaseValueConvertible)?, at index: Int32) throws {
        let code: Int32 = switch (value?.databaseValue ?? .null).storage {
        case .null: sqlite3_bind_null(handle, index)
        case .int64(let integer): sqlite3_bind_int64(handle, index, integer)
        case .double(let double): sqlite3_bind_double(handle, index, double)
        case .string(let string): sqlite3_bind_text(handle, index, string, Int32(string.utf8.count), Self.transient)
        case .blob(let data): data.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), Self.transient) }
        }
        guard code == SQLITE_OK else { throw failure(code) }
    }

    /// Runs the statement to its next row: true when there is one to read. A write is done whole
    /// by the first, its `RETURNING` rows included.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            let error = failure(code)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs a statement that returns no row.
    func execute() throws {
        _ = try step()
        sqlite3_reset(handle)
    }

    /// Column `index` of the current row.
    func int64(_ index: Int32) -> Int64? {
        sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, index)
    }

    /// Column `index` of the current row, as text.
    func text(_ index: Int32) -> String? {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
    }

    /// Column `index` of the current row, as bytes.
    func data(_ index: Int32) -> Data? {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        guard count > 0, let bytes = sqlite3_column_blob(handle, index) else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    /// Lets the statement go: its read is done.
    func finish() {
        sqlite3_reset(handle)
    }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: connection.map { String(cString: sqlite3_errmsg($0)) },
                      sql: sqlite3_sql(handle).map { String(cString: $0) })
    }

    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}
