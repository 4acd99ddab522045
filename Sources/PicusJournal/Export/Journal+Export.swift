import Foundation
import GRDB

extension Journal {
    /// Writes the entries that match `query` (its limit applies, its cursor too), streamed in
    /// constant memory: rows are read with a cursor and written in 64 KiB chunks.
    ///
    /// Secrets are redacted: authorization and cookie headers, and token, password, secret and
    /// API-key fields of JSON bodies and query strings.
    ///
    /// ```swift
    /// let handle = try FileHandle(forWritingTo: url)
    /// let result = try await journal.export(matching: JournalQuery(since: yesterday, limit: nil), as: .har) { handle.write($0) }
    /// ```
    ///
    /// - Parameters:
    ///   - query: Which entries.
    ///   - format: HAR, NDJSON or CSV.
    ///   - options: Base URL for entries without one, and the bundle's summary.
    ///   - write: Receives the output, chunk by chunk.
    /// - Returns: How many entries, attempts and bytes were written.
    public func export(
        matching query: JournalQuery, as format: ExportFormat, options: ExportOptions = ExportOptions(),
        to write: @escaping @Sendable (Data) throws -> Void
    ) async throws -> ExportResult {
        let clause = query.whereClause(dialect)
        var boundArguments = clause.statementArguments
        if let limit = query.limit { _ = boundArguments.append(contentsOf: [limit]) }
        let limitClause = query.limit == nil ? "" : " LIMIT ?"
        return try await read { [boundArguments] db in
            if format == .ndjson, try NDJSONExport.canExport(db) {
                let statement = try db.makeStatement(sql: NDJSONExport.sql(where: clause.sql, limitClause: limitClause))
                try statement.setArguments(boundArguments)
                let export = NDJSONExport(statement: statement.sqliteStatement, write: write)
                return try export.run(db)
            }
            let entryColumns = try db.columns(in: "entry").count + 1
            let attemptColumns = try db.columns(in: "attempt").count
            // The limit counts entries, the newest.
            let sql = """
                SELECT entry.*, NULL AS lastErrors, attempt.* FROM
                    (SELECT * FROM entry WHERE \(clause.sql) ORDER BY entry.createdAt DESC, entry.id DESC\(limitClause)) AS entry
                LEFT JOIN attempt ON attempt.entryId = entry.id
                ORDER BY \(ExportWriter.rowOrder(format))
                """
            let adapter = ScopeAdapter(base: RangeRowAdapter(0..<entryColumns),
                                       scopes: ["attempt": RangeRowAdapter(entryColumns..<(entryColumns + attemptColumns))])
            var writer = ExportWriter(format: format, options: options, write: write)
            try writer.begin()
            var current: Entry?
            var attempts: [Attempt] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: boundArguments, adapter: adapter)
            while let row = try rows.next() {
                // An entry's columns repeat on each of its attempts' rows: decoded once, on its first.
                let id: Int64 = row["id"]
                if current?.id != id {
                    if let current { try writer.add(current, attempts) }
                    current = try Entry(row: row)
                    attempts.removeAll(keepingCapacity: true)
                }
                if let attemptRow = row.scopes["attempt"], !attemptRow.hasNull(atIndex: 0) {
                    attempts.append(try Attempt(row: attemptRow))
                }
            }
            if let current { try writer.add(current, attempts) }
            return try writer.end()
        }
    }
}

/// Writes one format, buffering output in 64 KiB chunks: the journal's export and the fleet store's
/// feed it entries, each with its attempts.
package struct ExportWriter {
    let format: ExportFormat
    let options: ExportOptions
    let write: @Sendable (Data) throws -> Void
    /// Whether the entries come from a fleet store: CSV gains an `agent` column.
    let withAgent: Bool
    private var buffer = Data()
    private var result = ExportResult(entries: 0, attempts: 0, bytes: 0)
    private var isFirstHAREntry = true
    /// The entries a HAR has counted, whose rows need not be together.
    private var harEntries = Set<Int64>()
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    package init(format: ExportFormat, options: ExportOptions, withAgent: Bool = false, write: @escaping @Sendable (Data) throws -> Void) {
        self.format = format
        self.options = options
        self.withAgent = withAgent
        self.write = write
        buffer.reserveCapacity(80 * 1024)
    }

    static let csvHeader = [
        "entryId", "uuid", "createdAt", "method", "url", "state", "attempt", "startedAt", "durationMs", "status",
        "transportError", "outcome", "errorMessage", "errorCode", "errors", "retryAfterMs",
    ]

    package mutating func begin() throws {
        switch format {
        case .har:
            var log: [String: JSONValue] = [
                "version": .string("1.2"),
                "creator": .object(["name": .string("picus-journal"), "version": .string(options.creatorVersion)]),
                // Optional in HAR 1.2, but readers such as haralyzer expect both.
                "browser": .object(["name": .string("picus-journal"), "version": .string(options.creatorVersion)]),
                "pages": .array([]),
            ]
            if let summary = options.summary { log["comment"] = .string(summary) }
            var head = String(JSONValue.object(log).jsonText.dropLast())
            if let statistics = options.statistics {
                head += ",\"_summary\":" + String(decoding: try encoder.encode(statistics), as: UTF8.self)
            }
            try emit("{\"log\":" + head + ",\"entries\":[\n")
        case .csv:
            try emit(((withAgent ? ["agent"] : []) + Self.csvHeader).joined(separator: ",") + "\r\n")
        case .ndjson:
            break
        }
    }

    /// The order of an export's rows, entry columns named `entry` and attempt columns `attempt`: an
    /// entry's rows together, newest entry first, its attempts in order — or, for HAR, every attempt
    /// in the order it started, as HAR readers list a log (an entry's rows may then be apart).
    package static func rowOrder(_ format: ExportFormat) -> String {
        format == .har
            ? "COALESCE(attempt.startedAt, entry.createdAt), entry.createdAt, entry.id, attempt.number"
            : "entry.createdAt DESC, entry.id DESC, attempt.number"
    }

    /// Adds an entry with its attempts; for HAR, an entry may come more than once, each time with
    /// some of its attempts (``rowOrder(_:)``).
    package mutating func add(_ entry: Entry, _ attempts: [Attempt]) throws {
        var entry = entry
        // The entry's last error details, from its attempts already at hand (the query does not join them twice).
        entry.lastErrors = attempts.last { $0.number == entry.attemptCount }?.error?.errors
        if format == .har {
            if harEntries.insert(entry.id).inserted { result.entries += 1 }
        } else {
            result.entries += 1
        }
        result.attempts += attempts.count
        let origin = entry.origin ?? options.defaultOrigin
        switch format {
        case .ndjson:
            var output = JSONOutput()
            EntryDocument(entry, attempts: attempts).appendJSON(to: &output)
            buffer.append(contentsOf: output.bytes)
            buffer.append(UInt8(ascii: "\n"))
        case .har:
            for attempt in attempts.isEmpty ? [nil] : attempts.map(Optional.some) {
                if !isFirstHAREntry { buffer.append(contentsOf: Array(",\n".utf8)) }
                isFirstHAREntry = false
                buffer.append(try encoder.encode(HAR.entry(for: entry, attempt: attempt, origin: origin)))
            }
        case .csv:
            for attempt in attempts.isEmpty ? [nil] : attempts.map(Optional.some) {
                let error = attempt?.error
                let fields: [String?] = (withAgent ? [entry.agent] : []) + [
                    String(entry.id), entry.uuid.uuidString.lowercased(), ISO8601.string(from: entry.createdAt), entry.method,
                    origin + entry.redactedTarget, entry.state.rawValue, attempt.map { String($0.number) },
                    attempt.map { ISO8601.string(from: $0.startedAt) }, attempt.map { String(format: "%.3f", $0.durationMs) },
                    attempt?.status.map(String.init), attempt?.transportError?.rawValue, attempt?.outcome.rawValue,
                    error?.message, error?.errorCode, error?.errors?.jsonText, attempt?.retryAfterMs.map(String.init),
                ]
                buffer.append(contentsOf: Array((fields.map { CSV.field($0 ?? "") }.joined(separator: ",") + "\r\n").utf8))
            }
        }
        if buffer.count >= 64 * 1024 { try flush() }
    }

    package mutating func end() throws -> ExportResult {
        if format == .har { buffer.append(contentsOf: Array("\n]}}\n".utf8)) }
        try flush()
        return result
    }

    private mutating func emit(_ text: String) throws {
        buffer.append(contentsOf: Array(text.utf8))
    }

    private mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try write(buffer)
        result.bytes += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}

/// RFC 4180 fields, safe to open in a spreadsheet.
enum CSV {
    /// A field: quoted when it holds a comma, a quote or a line break; and a field that a spreadsheet
    /// would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
    /// leading `'`, which spreadsheets show as text.
    static func field(_ text: String) -> String {
        var text = text
        if let first = text.utf8.first, formulaStarts.contains(first) { text = "'" + text }
        // Bytes, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static let formulaStarts: Set<UInt8> = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]
}

/// A failure to write an export's file.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do, in one line.
    public let description: String
}

extension JournalReader {
    /// Exports to a path, as the kind of thing there asks.
    ///
    /// - A missing path or a regular file gets a file, mode 0600, that appears whole or not at all: the
    ///   export is written beside it (`FILE.partial-PID`) and renamed over it at the end; a failure
    ///   leaves nothing behind.
    /// - A symbolic link is followed, never replaced: its target is written as above.
    /// - A FIFO, a device (`/dev/null`, a terminal) or one of the process's own descriptors
    ///   (`/dev/stdout`, `/dev/fd/N`) is written in place, never renamed over.
    /// - A folder is refused.
    /// - A path that leads onto the journal being exported — its file, `-wal`, `-shm`, its owners
    ///   folder or anything in it, however spelled, through links or hard links — is refused before
    ///   anything is written.
    ///
    /// - Throws: ``ExportError`` when the path cannot be written (a folder, no such folder, a full disk);
    ///   ``JournalError`` when the journal cannot be read, or with code
    ///   ``JournalError/Code/exportOntoJournal`` when the path leads onto the journal.
    public func export(
        matching query: JournalQuery, as format: ExportFormat, options: ExportOptions = ExportOptions(), toFile path: String
    ) async throws -> ExportResult {
        if let journal = self as? Journal { try journal.refuseExport(toFile: path) }
        switch try ExportTarget(path) {
        case .inPlace:
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ExportError(description: "cannot open \(path) for writing; check its permissions")
            }
            defer { try? handle.close() }
            return try await export(matching: query, as: format, options: options) { data in
                do {
                    try handle.write(contentsOf: data)
                } catch {
                    throw ExportError(description: "cannot write \(path): \(error.localizedDescription)")
                }
            }
        case .replacing(let file):
            return try await exportReplacing(file, shownAs: path, matching: query, as: format, options: options)
        }
    }

    private func exportReplacing(
        _ path: String, shownAs shown: String, matching query: JournalQuery, as format: ExportFormat, options: ExportOptions
    ) async throws -> ExportResult {
        let partial = "\(path).partial-\(ProcessInfo.processInfo.processIdentifier)"
        guard case .created = ExclusiveFile.create(atPath: partial, mode: 0o600), let handle = FileHandle(forWritingAtPath: partial) else {
            throw ExportError(description: "cannot create \(shown); check that its folder exists and is writable")
        }
        do {
            let result = try await export(matching: query, as: format, options: options) { data in
                do {
                    try handle.write(contentsOf: data)
                } catch {
                    throw ExportError(description: "cannot write \(shown): \(error.localizedDescription)")
                }
            }
            try handle.close()
            if let code = ExclusiveFile.replace(path, with: partial) {
                throw ExportError(description: "cannot write \(shown): \(ExclusiveFile.describe(errno: code))")
            }
            return result
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}

/// Where an export goes, decided by what is at its path.
enum ExportTarget {
    /// Write into what is there (a FIFO, a device, `/dev/stdout`).
    case inPlace
    /// Write a new file beside this path and rename it over the path.
    case replacing(String)

    init(_ path: String) throws {
        // The process's own descriptors: whatever they are, they are written in place.
        if ["/dev/stdout", "/dev/stderr"].contains(path) || path.hasPrefix("/dev/fd/") || path.hasPrefix("/proc/self/fd/") {
            self = .inPlace
            return
        }
        switch ExclusiveFile.kind(atPath: path) {
        case .directory:
            throw ExportError(description: "\(path) is a folder; pass a file name, like \(path)/ticket.har")
        case .missing, .regular:
            // A link, however deep, is followed to the file it names: the link stays a link.
            let target = ExclusiveFile.followingLinks(path)
            if ExclusiveFile.kind(atPath: target) == .directory {
                throw ExportError(description: "\(path) leads to a folder; pass a file name")
            }
            self = .replacing(target)
        case .fifo, .socket, .device, .other:
            self = .inPlace
        }
    }
}
