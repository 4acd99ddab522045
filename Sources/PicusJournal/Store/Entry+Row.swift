import Foundation
import GRDB

extension Entry {
    /// Reads an entry from a row of the `entry` table (its last attempt's `errors` as `lastErrors`).
    ///
    /// Not a GRDB `FetchableRecord`: the public types of this library keep GRDB's major version out of
    /// their API. The journal reads entries with ``fetchAll(_:sql:arguments:)`` and its siblings.
    package init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        uuid = UUID(uuidString: try row.decode(forColumn: "uuid")) ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        createdAt = Date(unixMilliseconds: try row.decode(forColumn: "createdAt"))
        origin = try row.decode(forColumn: "origin")
        method = try row.decode(forColumn: "method")
        path = try row.decode(forColumn: "path")
        query = try row.decode(forColumn: "query")
        endpoint = try row.decode(forColumn: "endpoint")
        requestHeaders = JSONColumn.decodeHeaders(try row.decode(forColumn: "requestHeaders"))
        requestBody = try row.decode(forColumn: "requestBody")
        // The columns an attempt changes are read by `update(from:)`, once they have a value each.
        updatedAt = createdAt
        state = .failed
        attemptCount = 0
        isReplayable = true
        try update(from: row)
        // A journal of schema 0002 or older, read as it is, has no such column.
        isReplayable = row.hasColumn("isReplayable") ? (try row.decode(forColumn: "isReplayable") as Bool?) ?? true : true
        traceContext = row.hasColumn("traceContext")
            ? (try row.decode(forColumn: "traceContext") as String?).flatMap { TraceContext(fields: JSONColumn.decodeHeaders($0)) } : nil
    }
}

extension Entry {
    /// An entry read from somewhere other than a journal's own rows (the fleet store): the columns
    /// every entry has; the caller sets the rest.
    package init(id: Int64, uuid: UUID, createdAt: Date, updatedAt: Date, method: String, path: String, endpoint: String,
                 state: EntryState) {
        self.id = id
        self.uuid = uuid
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.method = method
        self.path = path
        self.endpoint = endpoint
        self.state = state
        requestHeaders = [:]
        attemptCount = 0
        isReplayable = true
    }

    /// The entry `new` became once inserted with `id`: times at the journal's millisecond precision.
    init(id: Int64, new: NewEntry, endpoint: String) {
        let createdAt = Date(unixMilliseconds: new.createdAt.unixMilliseconds)
        self.id = id
        uuid = new.uuid
        self.createdAt = createdAt
        updatedAt = createdAt
        origin = new.origin
        method = new.method
        path = new.path
        query = new.query
        self.endpoint = endpoint
        requestHeaders = new.headers
        requestBody = new.body
        state = new.state
        attemptCount = 0
        nextAttemptAt = new.state == .pending ? createdAt : new.nextAttemptAt.map { Date(unixMilliseconds: $0.unixMilliseconds) }
        leaseOwner = new.leaseOwner
        leaseExpiresAt = new.leaseExpiresAt.map { Date(unixMilliseconds: $0.unixMilliseconds) }
        isReplayable = new.isReplayable
        traceContext = new.traceContext
    }

    /// An entry a claim returned, by position, from ``JournalSQL/claimedColumns``.
    init(claimed row: DirectStatement) {
        typealias At = ClaimedPosition
        id = row.int64(At.id) ?? 0
        uuid = row.text(At.uuid).flatMap(UUID.init(uuidString:)) ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        createdAt = Date(unixMilliseconds: row.int64(At.createdAt) ?? 0)
        updatedAt = createdAt
        origin = row.text(At.origin)
        method = row.text(At.method) ?? ""
        path = row.text(At.path) ?? ""
        query = row.text(At.query)
        endpoint = row.text(At.endpoint) ?? ""
        requestHeaders = JSONColumn.decodeHeaders(row.text(At.requestHeaders))
        requestBody = row.data(At.requestBody)
        isReplayable = (row.int64(At.isReplayable) ?? 1) != 0
        traceContext = row.text(At.traceContext).flatMap { TraceContext(fields: JSONColumn.decodeHeaders($0)) }
        state = .failed
        attemptCount = 0
        update(fromOutcomeColumns: row)
    }

    /// The columns an outcome changes, by position, from ``JournalSQL/outcomeColumns``: a lookup by
    /// name folds the case of the column names it compares, twelve times an outcome.
    mutating func update(fromOutcomeColumns row: DirectStatement) {
        typealias At = OutcomePosition
        updatedAt = Date(unixMilliseconds: row.int64(At.updatedAt) ?? 0)
        state = row.text(At.state).flatMap(EntryState.init(rawValue:)) ?? .failed
        attemptCount = Int(row.int64(At.attemptCount) ?? 0)
        lastStatus = row.int64(At.lastStatus).map { Int($0) }
        lastTransportError = row.text(At.lastTransportError).flatMap(TransportError.Kind.init(rawValue:))
        lastErrorMessage = row.text(At.lastErrorMessage)
        lastErrorCode = row.text(At.lastErrorCode)
        nextAttemptAt = row.int64(At.nextAttemptAt).map(Date.init(unixMilliseconds:))
        notBefore = row.int64(At.notBefore).map(Date.init(unixMilliseconds:))
        leaseOwner = row.text(At.leaseOwner)
        leaseExpiresAt = row.int64(At.leaseExpiresAt).map(Date.init(unixMilliseconds:))
        lastErrors = row.text(At.lastErrors).flatMap { JSONValue(parsing: Data($0.utf8)) }
    }

    /// Takes the columns an attempt's record changes from `row`, by name; the rest stays as it was.
    mutating func update(from row: Row) throws {
        updatedAt = Date(unixMilliseconds: try row.decode(forColumn: "updatedAt"))
        state = EntryState(rawValue: try row.decode(forColumn: "state")) ?? .failed
        attemptCount = try row.decode(forColumn: "attemptCount")
        lastStatus = try row.decode(forColumn: "lastStatus")
        lastTransportError = (try row.decode(forColumn: "lastTransportError") as String?).flatMap(TransportError.Kind.init(rawValue:))
        lastErrorMessage = try row.decode(forColumn: "lastErrorMessage")
        lastErrorCode = try row.decode(forColumn: "lastErrorCode")
        lastErrors = (try row.decode(forColumn: "lastErrors") as String?).flatMap { JSONValue(parsing: Data($0.utf8)) }
        nextAttemptAt = (try row.decode(forColumn: "nextAttemptAt") as Int64?).map(Date.init(unixMilliseconds:))
        notBefore = (try row.decode(forColumn: "notBefore") as Int64?).map(Date.init(unixMilliseconds:))
        leaseOwner = try row.decode(forColumn: "leaseOwner")
        leaseExpiresAt = (try row.decode(forColumn: "leaseExpiresAt") as Int64?).map(Date.init(unixMilliseconds:))
    }
}

extension Entry {
    /// The entries a query returns, each read from its row as the cursor passes it.
    package static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Entry] {
        try Array(Row.fetchCursor(db, sql: sql, arguments: arguments).map { try Entry(row: $0) })
    }

    /// The first entry a query returns.
    package static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Entry? {
        try Row.fetchOne(db, sql: sql, arguments: arguments).map { try Entry(row: $0) }
    }

    /// The first entry a prepared statement returns.
    package static func fetchOne(_ statement: Statement, arguments: StatementArguments = StatementArguments()) throws -> Entry? {
        try Row.fetchOne(statement, arguments: arguments).map { try Entry(row: $0) }
    }
}

/// Where a read of an outcome's columns has each, from the schema's list: looked up once per process.
private enum OutcomePosition {
    static let updatedAt = JournalSQL.outcomeColumnList.position(.updatedAt)
    static let state = JournalSQL.outcomeColumnList.position(.state)
    static let attemptCount = JournalSQL.outcomeColumnList.position(.attemptCount)
    static let lastStatus = JournalSQL.outcomeColumnList.position(.lastStatus)
    static let lastTransportError = JournalSQL.outcomeColumnList.position(.lastTransportError)
    static let lastErrorMessage = JournalSQL.outcomeColumnList.position(.lastErrorMessage)
    static let lastErrorCode = JournalSQL.outcomeColumnList.position(.lastErrorCode)
    static let nextAttemptAt = JournalSQL.outcomeColumnList.position(.nextAttemptAt)
    static let notBefore = JournalSQL.outcomeColumnList.position(.notBefore)
    static let leaseOwner = JournalSQL.outcomeColumnList.position(.leaseOwner)
    static let leaseExpiresAt = JournalSQL.outcomeColumnList.position(.leaseExpiresAt)
    static let lastErrors = Int32(JournalSQL.lastErrorsPosition)
}

/// Where a claim's row has each of the other columns, from the schema's list.
private enum ClaimedPosition {
    static let id = JournalSQL.claimedColumnList.position(.id)
    static let uuid = JournalSQL.claimedColumnList.position(.uuid)
    static let createdAt = JournalSQL.claimedColumnList.position(.createdAt)
    static let origin = JournalSQL.claimedColumnList.position(.origin)
    static let method = JournalSQL.claimedColumnList.position(.method)
    static let path = JournalSQL.claimedColumnList.position(.path)
    static let query = JournalSQL.claimedColumnList.position(.query)
    static let endpoint = JournalSQL.claimedColumnList.position(.endpoint)
    static let requestHeaders = JournalSQL.claimedColumnList.position(.requestHeaders)
    static let requestBody = JournalSQL.claimedColumnList.position(.requestBody)
    static let isReplayable = JournalSQL.claimedColumnList.position(.isReplayable)
    static let traceContext = JournalSQL.claimedColumnList.position(.traceContext)
}
