import Foundation
import GRDB
import GRDBSQLite

/// The journal's NDJSON export, written straight from SQLite's columns.
///
/// It says byte for byte what ``EntryDocument``'s detailed form says for the same entry and attempts
/// (a test holds the two to that on entries made to be awkward), without building an ``Entry``, its
/// ``Attempt``s, a dictionary of headers or a tree of JSON values per entry: columns are read by
/// position, times and numbers are formatted into the output's bytes, and a value that needs the long
/// way — redacting headers, a body or a query string, re-encoding an error's details — takes the very
/// functions the document uses, remembered by its stored text, because a journal repeats the same
/// header sets and error bodies on most of its entries.
final class NDJSONExport {
    /// The positions of the columns read, in the statement's row: an entry's columns, then its
    /// attempt's, as the schema's lists order them. Each position is looked up once per process.
    private enum Column {
        static let entries = ColumnList(EntryColumn.documented)
        static let attempts = ColumnList(AttemptColumn.recorded, offset: entries.end)

        static let attemptCount = entries.position(.attemptCount)
        static let createdAt = entries.position(.createdAt)
        static let id = entries.position(.id)
        static let lastErrorCode = entries.position(.lastErrorCode)
        static let lastErrorMessage = entries.position(.lastErrorMessage)
        static let lastStatus = entries.position(.lastStatus)
        static let lastTransportError = entries.position(.lastTransportError)
        static let leaseExpiresAt = entries.position(.leaseExpiresAt)
        static let leaseOwner = entries.position(.leaseOwner)
        static let method = entries.position(.method)
        static let nextAttemptAt = entries.position(.nextAttemptAt)
        static let path = entries.position(.path)
        static let query = entries.position(.query)
        static let requestBody = entries.position(.requestBody)
        static let requestHeaders = entries.position(.requestHeaders)
        static let state = entries.position(.state)
        static let traceContext = entries.position(.traceContext)
        static let updatedAt = entries.position(.updatedAt)
        static let uuid = entries.position(.uuid)
        static let body = attempts.position(.body)
        static let bodyKind = attempts.position(.bodyKind)
        static let bodySize = attempts.position(.bodySize)
        static let durationMs = attempts.position(.durationMs)
        static let errorCode = attempts.position(.errorCode)
        static let errorMessage = attempts.position(.errorMessage)
        static let errors = attempts.position(.errors)
        static let number = attempts.position(.number)
        static let outcome = attempts.position(.outcome)
        static let rateLimitLimit = attempts.position(.rateLimitLimit)
        static let rateLimitRemaining = attempts.position(.rateLimitRemaining)
        static let rateLimitReset = attempts.position(.rateLimitReset)
        static let responseHeaders = attempts.position(.responseHeaders)
        static let retryAfterMs = attempts.position(.retryAfterMs)
        static let startedAt = attempts.position(.startedAt)
        static let status = attempts.position(.status)
        static let transportError = attempts.position(.transportError)
    }

    /// Whether this journal's tables have every column the export reads: a journal of an old schema,
    /// read as it is, takes the model path instead.
    static func canExport(_ db: Database) throws -> Bool {
        let entry = Set(try db.columns(in: "entry").map(\.name))
        let attempt = Set(try db.columns(in: "attempt").map(\.name))
        return Column.entries.names.allSatisfy(entry.contains) && Column.attempts.names.allSatisfy(attempt.contains)
    }

    /// The statement: entries newest first, each followed by its attempts in order; the limit counts entries.
    static func sql(where clause: String, limitClause: String) -> String {
        """
        SELECT \(Column.entries.sql("entry")), \(Column.attempts.sql("attempt")) FROM
            (SELECT * FROM entry WHERE \(clause) ORDER BY entry.createdAt DESC, entry.id DESC\(limitClause)) AS entry
        LEFT JOIN attempt ON attempt.entryId = entry.id
        ORDER BY entry.createdAt DESC, entry.id DESC, attempt.number
        """
    }

    private var statement: SQLiteStatement
    private let write: @Sendable (Data) throws -> Void
    @exclusivity(unchecked) private var output: [UInt8] = []
    private var result = ExportResult(entries: 0, attempts: 0, bytes: 0)
    /// The entry being written: its fields before `error`, its attempts' objects, and its fields after `history`.
    @exclusivity(unchecked) private var head: [UInt8] = []
    @exclusivity(unchecked) private var history: [UInt8] = []
    @exclusivity(unchecked) private var tail: [UInt8] = []
    private var currentID: Int64?
    private var attemptCount: Int64 = 0
    private var attemptsOfCurrent = 0
    private var lastErrorMessage: String?
    private var lastErrorCode: String?
    /// The `errors` of the attempt whose number is the entry's attempt count, as written JSON.
    private var lastErrors: [UInt8]?
    @exclusivity(unchecked) private var memo = NDJSONMemo()

    init(statement: SQLiteStatement, write: @escaping @Sendable (Data) throws -> Void) {
        self.statement = statement
        self.write = write
        output.reserveCapacity(96 * 1024)
        head.reserveCapacity(128)
        history.reserveCapacity(4096)
        tail.reserveCapacity(1024)
    }

    /// Steps the statement to its end, writing each entry as one line.
    func run(_ db: Database) throws -> ExportResult {
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            let id = try int64(Column.id)
            if id != currentID {
                if currentID != nil { finishEntry() }
                try beginEntry(id)
            }
            if sqlite3_column_type(statement, Column.number) != SQLITE_NULL { try appendAttempt() }
            if output.count >= 64 * 1024 { try flush() }
        }
        if currentID != nil { finishEntry() }
        try flush()
        return result
    }

    // MARK: The entry

    private func beginEntry(_ id: Int64) throws {
        currentID = id
        attemptsOfCurrent = 0
        result.entries += 1
        attemptCount = try int64(Column.attemptCount)
        lastErrorMessage = string(Column.lastErrorMessage)
        lastErrorCode = string(Column.lastErrorCode)
        lastErrors = nil
        history.removeAll(keepingCapacity: true)

        // "attempts", "createdAt": the fields before "error".
        head.removeAll(keepingCapacity: true)
        Self.append(#"{"attempts":"#, to: &head)
        JSONOutput.appendInteger(attemptCount, to: &head)
        Self.append(#","createdAt":"#, to: &head)
        try appendTime(Column.createdAt, to: &head)

        // "id" … "uuid": the fields after "history".
        tail.removeAll(keepingCapacity: true)
        Self.append(#","id":"#, to: &tail)
        JSONOutput.appendInteger(id, to: &tail)
        Self.append(#","leaseExpiresAt":"#, to: &tail)
        try appendTime(Column.leaseExpiresAt, to: &tail)
        Self.append(#","leaseOwner":"#, to: &tail)
        appendText(Column.leaseOwner, to: &tail)
        Self.append(#","method":"#, to: &tail)
        appendText(Column.method, to: &tail)
        Self.append(#","nextAttemptAt":"#, to: &tail)
        try appendTime(Column.nextAttemptAt, to: &tail)
        Self.append(#","path":"#, to: &tail)
        appendTarget()
        Self.append(#","requestBody":"#, to: &tail)
        appendBody(Column.requestBody, binary: false, to: &tail)
        Self.append(#","requestHeaders":"#, to: &tail)
        appendHeaders(Column.requestHeaders, to: &tail)
        Self.append(#","state":"#, to: &tail)
        appendState()
        Self.append(#","status":"#, to: &tail)
        appendOptionalInteger(Column.lastStatus, to: &tail)
        Self.append(#","traceId":"#, to: &tail)
        appendTraceID()
        Self.append(#","transportError":"#, to: &tail)
        appendTransportError(Column.lastTransportError, to: &tail)
        Self.append(#","updatedAt":"#, to: &tail)
        try appendTime(Column.updatedAt, to: &tail)
        Self.append(#","uuid":"#, to: &tail)
        appendUUID()
        Self.append("}\n", to: &tail)
    }

    private func finishEntry() {
        output.append(contentsOf: head)
        Self.append(#","error":"#, to: &output)
        if lastErrorMessage == nil, lastErrorCode == nil, lastErrors == nil {
            Self.append("null", to: &output)
        } else {
            Self.appendError(message: lastErrorMessage, code: lastErrorCode, errors: lastErrors, to: &output)
        }
        Self.append(#","history":["#, to: &output)
        output.append(contentsOf: history)
        output.append(UInt8(ascii: "]"))
        output.append(contentsOf: tail)
    }

    private func appendTarget() {
        guard let query = bytes(Column.query), query.count > 0 else { return appendText(Column.path, to: &tail) }
        let path = bytes(Column.path) ?? UnsafeBufferPointer(start: nil, count: 0)
        // The path and the redacted query as one string; a query is redacted the way `Entry.redactedTarget` does.
        let redacted = memo.value(for: query, kind: .query) {
            Array(Redactor.query(String(decoding: query, as: UTF8.self)).utf8)
        }
        tail.append(UInt8(ascii: "\""))
        Self.appendEscaped(path, to: &tail)
        tail.append(UInt8(ascii: "?"))
        redacted.withUnsafeBufferPointer { Self.appendEscaped($0, to: &tail) }
        tail.append(UInt8(ascii: "\""))
    }

    private func appendState() {
        let state = string(Column.state).flatMap(EntryState.init(rawValue:)) ?? .failed
        Self.appendQuoted(state.rawValue, to: &tail)
    }

    private func appendTraceID() {
        guard let text = string(Column.traceContext),
            let traceID = TraceContext(fields: JSONColumn.decodeHeaders(text))?.traceID
        else { return Self.append("null", to: &tail) }
        Self.appendQuoted(traceID, to: &tail)
    }

    private func appendUUID() {
        guard let text = bytes(Column.uuid), text.count == 36, Self.isUUID(text) else {
            // What `UUID(uuidString:)` makes of anything else: the uuid it parses, or zeros.
            let uuid = string(Column.uuid).flatMap(UUID.init(uuidString:)) ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
            return Self.appendQuoted(uuid.uuidString.lowercased(), to: &tail)
        }
        tail.append(UInt8(ascii: "\""))
        for byte in text { tail.append(byte >= 0x41 && byte <= 0x46 ? byte + 0x20 : byte) }
        tail.append(UInt8(ascii: "\""))
    }

    // MARK: An attempt

    private func appendAttempt() throws {
        result.attempts += 1
        if attemptsOfCurrent > 0 { history.append(UInt8(ascii: ",")) }
        attemptsOfCurrent += 1
        let number = try int64(Column.number)
        // `ErrorBody.stored`: a known body kind makes an error body; else a stored message makes an empty one.
        let kind = string(Column.bodyKind).flatMap(BodyKind.init(rawValue:))
        let message = string(Column.errorMessage)
        let hasError = kind != nil || message != nil
        var errors: [UInt8]?

        history.append(UInt8(ascii: "{"))
        if hasError {
            Self.append(#""body":"#, to: &history)
            if kind != nil {
                appendBody(Column.body, binary: kind == .binary, to: &history)
            } else {
                Self.append(#""""#, to: &history)
            }
            Self.append(#","bodyKind":"#, to: &history)
            Self.appendQuoted((kind ?? .empty).rawValue, to: &history)
            Self.append(#","bodySize":"#, to: &history)
            if kind == nil {
                history.append(UInt8(ascii: "0"))
            } else if sqlite3_column_type(statement, Column.bodySize) != SQLITE_NULL {
                JSONOutput.appendInteger(sqlite3_column_int64(statement, Column.bodySize), to: &history)
            } else {
                JSONOutput.appendInteger(Int64(sqlite3_column_type(statement, Column.body) == SQLITE_NULL
                                         ? 0 : sqlite3_column_bytes(statement, Column.body)), to: &history)
            }
            history.append(UInt8(ascii: ","))
        }
        Self.append(#""durationMs":"#, to: &history)
        let duration = sqlite3_column_double(statement, Column.durationMs)
        JSONOutput.appendNumber((duration * 1000).rounded() / 1000, to: &history)
        Self.append(#","error":"#, to: &history)
        if hasError {
            if kind != nil, let text = bytes(Column.errors) {
                errors = memo.value(for: text, kind: .errors) {
                    guard let value = JSONValue(parsing: Data(String(decoding: text, as: UTF8.self).utf8)) else { return [] }
                    var json = JSONOutput(capacity: 256)
                    json.value(value)
                    return json.bytes
                }
                if errors?.isEmpty == true { errors = nil }
            }
            Self.appendError(message: message, code: string(Column.errorCode), errors: errors, to: &history)
        } else {
            Self.append("null", to: &history)
        }
        Self.append(#","number":"#, to: &history)
        JSONOutput.appendInteger(number, to: &history)
        Self.append(#","outcome":"#, to: &history)
        Self.appendQuoted((string(Column.outcome).flatMap(Attempt.Outcome.init(rawValue:)) ?? .permanent).rawValue, to: &history)
        Self.append(#","rateLimit":"#, to: &history)
        appendRateLimit()
        Self.append(#","responseHeaders":"#, to: &history)
        appendHeaders(Column.responseHeaders, to: &history)
        Self.append(#","retryAfterMs":"#, to: &history)
        appendOptionalInteger(Column.retryAfterMs, to: &history)
        Self.append(#","startedAt":"#, to: &history)
        try appendTime(Column.startedAt, to: &history)
        Self.append(#","status":"#, to: &history)
        appendOptionalInteger(Column.status, to: &history)
        Self.append(#","transportError":"#, to: &history)
        appendTransportError(Column.transportError, to: &history)
        history.append(UInt8(ascii: "}"))

        // The entry's error details are its last attempt's (`ExportWriter.add`).
        if number == attemptCount { lastErrors = errors }
    }

    private func appendRateLimit() {
        let isNull = { (column: Int32) in sqlite3_column_type(self.statement, column) == SQLITE_NULL }
        guard !isNull(Column.rateLimitLimit) || !isNull(Column.rateLimitReset) else { return Self.append("null", to: &history) }
        Self.append(#"{"limit":"#, to: &history)
        appendOptionalInteger(Column.rateLimitLimit, to: &history)
        Self.append(#","remaining":"#, to: &history)
        appendOptionalInteger(Column.rateLimitRemaining, to: &history)
        Self.append(#","reset":"#, to: &history)
        appendOptionalInteger(Column.rateLimitReset, to: &history)
        history.append(UInt8(ascii: "}"))
    }

    // MARK: Values that take the document's own functions, remembered by their stored text

    private func appendHeaders(_ column: Int32, to buffer: inout [UInt8]) {
        let text = bytes(column) ?? UnsafeBufferPointer(start: nil, count: 0)
        let isNull = sqlite3_column_type(statement, column) == SQLITE_NULL
        buffer.append(contentsOf: memo.value(for: text, kind: isNull ? .nullHeaders : .headers) {
            var json = JSONOutput(capacity: 256)
            json.value(Redactor.headers(JSONColumn.decodeHeaders(isNull ? nil : String(decoding: text, as: UTF8.self))))
            return json.bytes
        })
    }

    /// A body as `EntryDocument` writes it: redacted, then text (or base64 for a binary body), or null.
    private func appendBody(_ column: Int32, binary: Bool, to buffer: inout [UInt8]) {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else {
            // A request body of NULL is null; an error body of NULL is an empty one.
            return buffer.append(contentsOf: (column == Column.requestBody ? "null" : #""""#).utf8)
        }
        // Blob, then its size, as GRDB reads `Data`.
        let start = sqlite3_column_blob(statement, column)?.assumingMemoryBound(to: UInt8.self)
        let count = Int(sqlite3_column_bytes(statement, column))
        let raw = UnsafeBufferPointer(start: start, count: start == nil ? 0 : count)
        buffer.append(contentsOf: memo.value(for: raw, kind: binary ? .binaryBody : .body) {
            let redacted = Redactor.body(Data(raw))
            let text = binary ? redacted.base64EncodedString() : String(decoding: redacted, as: UTF8.self)
            var json: [UInt8] = []
            Self.appendQuoted(text, to: &json)
            return json
        })
    }

    // MARK: Columns

    private func int64(_ column: Int32) throws -> Int64 {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "NULL in column \(column)")
        }
        return sqlite3_column_int64(statement, column)
    }

    /// A TEXT column's bytes up to its first NUL, as GRDB reads a `String`; nil for NULL.
    private func bytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL,
            let text = sqlite3_column_text(statement, column)
        else { return nil }
        return UnsafeBufferPointer(start: text, count: strlen(text))
    }

    /// A TEXT column as GRDB reads a `String` (bytes up to the first NUL, invalid UTF-8 repaired); nil for NULL.
    private func string(_ column: Int32) -> String? {
        bytes(column).map { String(decoding: $0, as: UTF8.self) }
    }

    private func appendText(_ column: Int32, to buffer: inout [UInt8]) {
        guard let text = bytes(column) else { return Self.append("null", to: &buffer) }
        buffer.append(UInt8(ascii: "\""))
        Self.appendEscaped(text, to: &buffer)
        buffer.append(UInt8(ascii: "\""))
    }

    private func appendOptionalInteger(_ column: Int32, to buffer: inout [UInt8]) {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else { return Self.append("null", to: &buffer) }
        JSONOutput.appendInteger(sqlite3_column_int64(statement, column), to: &buffer)
    }

    private func appendTransportError(_ column: Int32, to buffer: inout [UInt8]) {
        guard let kind = string(column).flatMap(TransportError.Kind.init(rawValue:)) else { return Self.append("null", to: &buffer) }
        Self.appendQuoted(kind.rawValue, to: &buffer)
    }

    /// A unix-millisecond column as `ISO8601.string(from:)` writes it, or null.
    private func appendTime(_ column: Int32, to buffer: inout [UInt8]) throws {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else { return Self.append("null", to: &buffer) }
        let milliseconds = sqlite3_column_int64(statement, column)
        buffer.append(UInt8(ascii: "\""))
        if !ISO8601.append(milliseconds: milliseconds, to: &buffer) {
            buffer.append(contentsOf: ISO8601.string(from: Date(unixMilliseconds: milliseconds)).utf8)
        }
        buffer.append(UInt8(ascii: "\""))
    }

    private func flush() throws {
        guard !output.isEmpty else { return }
        try write(Data(output))
        result.bytes += output.count
        output.removeAll(keepingCapacity: true)
    }
}
