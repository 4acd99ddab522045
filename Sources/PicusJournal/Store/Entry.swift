import Foundation
import GRDB

/// One logical request in the journal, with where it stands.
public struct Entry: Sendable, Hashable, Identifiable {
    /// The journal's id: what the CLI shows and takes.
    public var id: Int64
    /// Sent as the `Idempotency-Key` header on every attempt.
    public var uuid: UUID
    /// When the entry was written.
    public var createdAt: Date
    /// When the entry last changed.
    public var updatedAt: Date
    /// The base URL it was sent to, such as `https://api.picussecurity.com`.
    public var origin: String?
    /// The HTTP method.
    public var method: String
    /// The path, without the query string.
    public var path: String
    /// The query string without its `?`, or nil.
    public var query: String?
    /// The method and path with id segments folded, `GET /v1/agents/{id}`: the unit of rate limits.
    public var endpoint: String
    /// The request headers as journaled: redacted, never a token.
    public var requestHeaders: [String: String]
    /// The request body, kept for replay.
    public var requestBody: Data?
    /// Where the entry stands.
    public var state: EntryState
    /// How many attempts have been recorded.
    public var attemptCount: Int
    /// The HTTP status of the last attempt, nil when it got no response or none was made.
    public var lastStatus: Int?
    /// Why the last attempt got no response, if it did not.
    public var lastTransportError: TransportError.Kind?
    /// The decoded error message of the last attempt.
    public var lastErrorMessage: String?
    /// The Picus `error_code` of the last attempt.
    public var lastErrorCode: String?
    /// The `errors` field of the last attempt's decoded error body.
    public var lastErrors: JSONValue?
    /// When a queued entry falls due for replay.
    public var nextAttemptAt: Date?
    /// The earliest time the server allowed a retry (`Retry-After`, `X-Ratelimit-Reset`); nothing sends before it.
    public var notBefore: Date?
    /// Who holds the lease of an in-flight entry.
    public var leaseOwner: String?
    /// When that lease runs out.
    public var leaseExpiresAt: Date?
    /// Whether the entry may ever be replayed: decided by the retry policy, overrides included,
    /// when it was written.
    public var isReplayable: Bool
    /// The trace context of the caller that wrote the entry; every attempt, replays included, continues its trace.
    public var traceContext: TraceContext?
    /// The agent whose journal the entry was shipped from, when it was read from a fleet store;
    /// nil in a local journal.
    public var agent: String?

    /// The last attempt's decoded error, nil when it succeeded or left no message.
    public var lastError: (message: String?, errorCode: String?, errors: JSONValue?)? {
        guard lastErrorMessage != nil || lastErrorCode != nil || lastErrors != nil else { return nil }
        return (lastErrorMessage, lastErrorCode, lastErrors)
    }

    /// When a replay may send the entry: the later of `nextAttemptAt` and `notBefore`.
    public var dueAt: Date? {
        switch (nextAttemptAt, notBefore) {
        case let (next?, server?): max(next, server)
        case let (next, server): next ?? server
        }
    }

    /// The path as requested, with secret query parameters (`token=`, `api_key=`, …) redacted: what
    /// lists, shows and exports print.
    public var redactedTarget: String {
        guard let query, !query.isEmpty else { return path }
        return "\(path)?\(Redactor.query(query))"
    }

    /// The path as requested, query string included.
    public var target: String {
        guard let query, !query.isEmpty else { return path }
        return "\(path)?\(query)"
    }
}

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

/// Header maps stored as JSON text.
package enum JSONColumn {
    package static func encode(_ headers: [String: String]) -> String {
        var output = JSONOutput(capacity: 256)
        output.value(headers)
        return String(decoding: output.bytes, as: UTF8.self)
    }

    package static func decodeHeaders(_ text: String?) -> [String: String] {
        guard let text else { return [:] }
        if let headers = FlatJSONObject.parse(text) { return headers }
        // Anything the fast reader does not take (it takes what `encode` writes) goes the long way.
        guard let data = text.data(using: .utf8), let headers = try? JSONDecoder().decode([String: String].self, from: data) else {
            return [:]
        }
        return headers
    }
}

/// Reads a flat JSON object of strings, `{"name":"value",…}`, straight from its bytes: the form the
/// journal stores headers in, read for every entry an export or a list shows, where `JSONDecoder`
/// cost a third of the time. Nil for anything else (nesting, numbers, invalid escapes): the caller
/// falls back to `JSONDecoder`.
package enum FlatJSONObject {
    package static func parse(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var index = 0
            func skipSpace() {
                while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                    index += 1
                }
            }
            func expect(_ byte: UInt8) -> Bool {
                skipSpace()
                guard index < bytes.count, bytes[index] == byte else { return false }
                index += 1
                return true
            }
            func hex4() -> UInt32? {
                guard index + 4 <= bytes.count else { return nil }
                var value: UInt32 = 0
                for _ in 0..<4 {
                    let byte = bytes[index]
                    let digit: UInt8
                    switch byte {
                    case 0x30...0x39: digit = byte - 0x30
                    case 0x41...0x46: digit = byte - 0x41 + 10
                    case 0x61...0x66: digit = byte - 0x61 + 10
                    default: return nil
                    }
                    value = value * 16 + UInt32(digit)
                    index += 1
                }
                return value
            }
            func string() -> String? {
                guard expect(0x22) else { return nil }
                let start = index
                // The common case: no escape, one copy.
                while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
                guard index < bytes.count else { return nil }
                if bytes[index] == 0x22 {
                    defer { index += 1 }
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                }
                var scalars = String.UnicodeScalarView()
                scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
                var run = index
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == 0x22 || byte == 0x5C {
                        scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<index]), as: UTF8.self).unicodeScalars)
                        index += 1
                        if byte == 0x22 { return String(scalars) }
                        guard index < bytes.count else { return nil }
                        let escape = bytes[index]
                        index += 1
                        switch escape {
                        case 0x22: scalars.append("\"")
                        case 0x5C: scalars.append("\\")
                        case 0x2F: scalars.append("/")
                        case 0x62: scalars.append("\u{08}")
                        case 0x66: scalars.append("\u{0C}")
                        case 0x6E: scalars.append("\n")
                        case 0x72: scalars.append("\r")
                        case 0x74: scalars.append("\t")
                        case 0x75:
                            guard let high = hex4() else { return nil }
                            if (0xD800..<0xDC00).contains(high) {
                                guard index + 2 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else { return nil }
                                index += 2
                                guard let low = hex4(), (0xDC00..<0xE000).contains(low),
                                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                                else { return nil }
                                scalars.append(scalar)
                            } else {
                                guard let scalar = Unicode.Scalar(high) else { return nil }
                                scalars.append(scalar)
                            }
                        default: return nil
                        }
                        run = index
                    } else if byte < 0x20 {
                        return nil
                    } else {
                        index += 1
                    }
                }
                return nil
            }
            guard expect(0x7B) else { return nil }
            var object: [String: String] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == 0x7D {
                index += 1
            } else {
                while true {
                    guard let name = string(), expect(0x3A), let value = string() else { return nil }
                    object[name] = value
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == 0x2C { index += 1; continue }
                    if bytes[index] == 0x7D { index += 1; break }
                    return nil
                }
            }
            skipSpace()
            return index == bytes.count ? object : nil
        }
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
