import Foundation
import GRDB

/// A question to the journal: which entries, newest first.
///
/// Both the library's users and the CLI ask the journal through this one type. Filters of the
/// same kind are alternatives (status 422 or 5xx); filters of different kinds all apply. Each
/// filter is served by an index.
///
/// ```swift
/// var query = JournalQuery(statuses: [.code(422), .class(5)], since: JournalQuery.time("24h"))
/// query.pathGlob = "/v1/simulations*"
/// query.text = "validation"
/// let page = try await journal.page(matching: query)      // page.entries, page.nextCursor
/// ```
public struct JournalQuery: Sendable, Hashable {
    /// A status filter: one code or a whole class.
    public enum StatusFilter: Sendable, Hashable, CustomStringConvertible {
        /// Exactly this code: `422`.
        case code(Int)
        /// Every code of a class: `class(4)` is `4xx`.
        case `class`(Int)

        /// Parses `422` or `4xx` (any case); nil for anything else.
        public init?(_ text: String) {
            let text = text.lowercased()
            if text.count == 3, text.hasSuffix("xx"), let digit = Int(text.prefix(1)), (1...5).contains(digit) {
                self = .class(digit)
            } else if text.count == 3, let code = Int(text), (100...599).contains(code) {
                self = .code(code)
            } else {
                return nil
            }
        }

        /// The filter as `--status` takes it.
        public var description: String {
            switch self {
            case .code(let code): String(code)
            case .class(let digit): "\(digit)xx"
            }
        }
    }

    /// Where a page ends: pass it as `after` to get the next page. Stable while entries are added.
    public struct Cursor: Sendable, Hashable, LosslessStringConvertible {
        /// The last entry's creation time, unix milliseconds.
        public var createdAt: Int64
        /// The last entry's id.
        public var id: Int64

        /// The cursor just past `entry`.
        public init(after entry: Entry) {
            createdAt = entry.createdAt.unixMilliseconds
            id = entry.id
        }

        /// Parses the text form, `1795599036372.42`.
        public init?(_ description: String) {
            let parts = description.split(separator: ".")
            guard parts.count == 2, let createdAt = Int64(parts[0]), let id = Int64(parts[1]) else { return nil }
            self.createdAt = createdAt
            self.id = id
        }

        /// The cursor as `--after` takes it: `CREATEDAT.ID`.
        public var description: String { "\(createdAt).\(id)" }
    }

    /// Only entries shipped from one of these agents' journals: a fleet store's filter (a local
    /// journal's entries belong to no named agent, so none matches).
    public var agents: [String] = []
    /// Only entries whose last status matches one of these (any attempt's, with ``anyAttempt``).
    public var statuses: [StatusFilter]
    /// Only entries in one of these states.
    public var states: [EntryState]
    /// Only entries with one of these methods (`GET`, `POST`, …).
    public var methods: [String] = []
    /// Only entries whose path matches this glob (`/v1/simulations*`); case-sensitive, query excluded.
    public var pathGlob: String?
    /// Only entries whose last Picus `error_code` is one of these (any attempt's, with ``anyAttempt``).
    public var errorCodes: [String] = []
    /// Only entries whose last error message contains this text, ASCII case ignored (any attempt's,
    /// with ``anyAttempt``).
    public var text: String?
    /// Whether ``statuses``, ``errorCodes`` and ``text`` ask about any one attempt of an entry rather
    /// than its last: an entry that got a 429 and then succeeded matches `statuses: [.code(429)]` only
    /// with this set. All three must then hold for the same attempt.
    public var anyAttempt = false
    /// Only entries created at or after this time.
    public var since: Date?
    /// Only entries created before this time.
    public var until: Date?
    /// At most this many entries; nil for all.
    public var limit: Int?
    /// Only entries after this cursor (older, in the newest-first order).
    public var after: Cursor?

    /// Creates a query; with no arguments it asks for the 100 newest entries.
    public init(statuses: [StatusFilter] = [], states: [EntryState] = [], since: Date? = nil, until: Date? = nil,
                limit: Int? = 100) {
        self.statuses = statuses
        self.states = states
        self.since = since
        self.until = until
        self.limit = limit
    }

    /// The WHERE clause (without `WHERE`; always true when empty) and its values, for `dialect`,
    /// with `?` placeholders.
    package func whereClause(_ dialect: SQLDialect) -> SQLFragment {
        var clauses: [String] = []
        var values: [SQLValue] = []
        func add(_ clause: String, _ bound: [SQLValue]) {
            clauses.append(clause)
            values += bound
        }
        func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

        if !agents.isEmpty {
            switch dialect {
            case .sqlite: add("1 = 0", []) // A local journal's entries belong to no named agent.
            case .postgres: add("entry.agent IN (\(placeholders(agents.count)))", agents.map(SQLValue.text))
            }
        }
        if !states.isEmpty { add("entry.state IN (\(placeholders(states.count)))", states.map { .text($0.rawValue) }) }
        if !methods.isEmpty { add("entry.method IN (\(placeholders(methods.count)))", methods.map { .text($0.uppercased()) }) }
        if let pathGlob {
            switch dialect {
            case .sqlite: add("entry.path GLOB ?", [.text(pathGlob)])
            case .postgres: add("entry.path ~ ?", [.text(Glob.regularExpression(pathGlob))])
            }
        }
        if let attemptClause = attemptClause(dialect) { add(attemptClause.sql, attemptClause.values) }
        if let since { add("entry.createdAt >= ?", [.integer(since.unixMilliseconds)]) }
        if let until { add("entry.createdAt < ?", [.integer(until.unixMilliseconds)]) }
        if let after {
            add("(entry.createdAt, entry.id) < (?, ?)", [.integer(after.createdAt), .integer(after.id)])
        }
        return SQLFragment(clauses.isEmpty ? "1 = 1" : clauses.joined(separator: " AND "), values)
    }

    /// The filters that read an attempt — status, `error_code`, message text — as one condition: on
    /// the entry's own copy of its last attempt, or with ``anyAttempt`` on one attempt of its history.
    private func attemptClause(_ dialect: SQLDialect) -> SQLFragment? {
        let text = text.flatMap { $0.isEmpty ? nil : $0 }
        guard !statuses.isEmpty || !errorCodes.isEmpty || text != nil else { return nil }
        let status = anyAttempt ? "attempt.status" : "entry.lastStatus"
        let errorCode = anyAttempt ? "attempt.errorCode" : "entry.lastErrorCode"
        let message = anyAttempt ? "attempt.errorMessage" : "entry.lastErrorMessage"
        var clauses: [String] = []
        var values: [SQLValue] = []
        if !statuses.isEmpty {
            var alternatives: [String] = []
            for filter in statuses {
                switch filter {
                case .code(let code):
                    alternatives.append("\(status) = ?")
                    values.append(.integer(Int64(code)))
                case .class(let digit):
                    alternatives.append("\(status) BETWEEN ? AND ?")
                    values += [.integer(Int64(digit * 100)), .integer(Int64(digit * 100 + 99))]
                }
            }
            clauses.append("(\(alternatives.joined(separator: " OR ")))")
        }
        if !errorCodes.isEmpty {
            clauses.append("\(errorCode) IN (\(Array(repeating: "?", count: errorCodes.count).joined(separator: ", ")))")
            values += errorCodes.map(SQLValue.text)
        }
        if let text {
            // LIKE is case-insensitive for ASCII in SQLite, as the trigram index is; PostgreSQL's ILIKE is.
            let pattern = "%" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
            switch dialect {
            case .sqlite(let fullTextSearch):
                clauses.append("\(message) LIKE ? ESCAPE '\\'")
                values.append(.text(pattern))
                if fullTextSearch, text.count >= 3 {
                    // The trigram index narrows the attempts to read; the LIKE above decides. One
                    // phrase: the text as typed, FTS5 operators and all taken literally.
                    let phrase = "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                    let indexed = "SELECT attempt.entryId FROM attemptSearch JOIN attempt ON attempt.id = attemptSearch.rowid WHERE attemptSearch MATCH ?"
                    clauses.append(anyAttempt ? "attempt.id IN (SELECT rowid FROM attemptSearch WHERE attemptSearch MATCH ?)" : "entry.id IN (\(indexed))")
                    values.append(.text(phrase))
                }
            case .postgres:
                clauses.append("\(message) ILIKE ? ESCAPE '\\'")
                values.append(.text(pattern))
            }
        }
        let condition = clauses.joined(separator: " AND ")
        guard anyAttempt else { return SQLFragment(condition, values) }
        return SQLFragment("EXISTS (SELECT 1 FROM \(dialect.attemptTable) AS attempt WHERE \(dialect.attemptOfEntry) AND \(condition))", values)
    }

    /// The whole SELECT of entries, newest first: `selection` (which names the entry table `entry`),
    /// the filters, the order and the limit.
    package func sql(selecting selection: String, _ dialect: SQLDialect) -> SQLFragment {
        var fragment = whereClause(dialect)
        fragment.sql = "\(selection) WHERE \(fragment.sql) ORDER BY entry.createdAt DESC, entry.id DESC"
        if let limit {
            fragment.sql += " LIMIT ?"
            fragment.values.append(.integer(Int64(limit)))
        }
        return fragment
    }
}

extension JournalQuery {
    /// Parses a time bound: a span back from `now` (`90m`, `24h`, `7d`, `2w`, `30s`) or an ISO 8601 time or date.
    public static func time(_ text: String, relativeTo now: Date = JournalClock.system.now()) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let unit = text.last, let amount = Double(text.dropLast()), amount.isFinite, amount >= 0, amount < 1e7 {
            let seconds: Double? = switch unit {
            case "s": 1
            case "m": 60
            case "h": 3600
            case "d": 86_400
            case "w": 604_800
            default: nil
            }
            if let seconds { return now.addingTimeInterval(-amount * seconds) }
        }
        return ISO8601.date(from: text)
    }
}
