import Foundation
import GRDB

/// A question to the journal: which entries, newest first.
///
/// Both the library's users and the CLI ask the journal through this one type. Filters of the
/// same kind are alternatives (status 422 or 5xx); filters of different kinds all apply.
///
/// ```swift
/// var query = JournalQuery(statuses: [.code(422), .class(5)], since: Date().addingTimeInterval(-86_400))
/// query.states = [.failed]
/// let entries = try await journal.entries(matching: query)
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

        public var description: String {
            switch self {
            case .code(let code): String(code)
            case .class(let digit): "\(digit)xx"
            }
        }
    }

    /// Only entries whose last status matches one of these.
    public var statuses: [StatusFilter]
    /// Only entries in one of these states.
    public var states: [EntryState]
    /// Only entries created at or after this time.
    public var since: Date?
    /// Only entries created before this time.
    public var until: Date?
    /// At most this many entries; nil for all.
    public var limit: Int?

    /// Creates a query; with no arguments it asks for the 100 newest entries.
    public init(statuses: [StatusFilter] = [], states: [EntryState] = [], since: Date? = nil, until: Date? = nil,
                limit: Int? = 100) {
        self.statuses = statuses
        self.states = states
        self.since = since
        self.until = until
        self.limit = limit
    }

    func sql(selecting selection: String) -> (String, StatementArguments) {
        var clauses: [String] = []
        var arguments = StatementArguments()
        if !statuses.isEmpty {
            var alternatives: [String] = []
            for status in statuses {
                switch status {
                case .code(let code):
                    alternatives.append("entry.lastStatus = ?")
                    _ = arguments.append(contentsOf: [code])
                case .class(let digit):
                    alternatives.append("entry.lastStatus BETWEEN ? AND ?")
                    _ = arguments.append(contentsOf: [digit * 100, digit * 100 + 99])
                }
            }
            clauses.append("(\(alternatives.joined(separator: " OR ")))")
        }
        if !states.isEmpty {
            clauses.append("entry.state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
            _ = arguments.append(contentsOf: StatementArguments(states.map(\.rawValue)))
        }
        if let since {
            clauses.append("entry.createdAt >= ?")
            _ = arguments.append(contentsOf: [since.unixMilliseconds])
        }
        if let until {
            clauses.append("entry.createdAt < ?")
            _ = arguments.append(contentsOf: [until.unixMilliseconds])
        }
        var sql = selection
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY entry.createdAt DESC, entry.id DESC"
        if let limit {
            sql += " LIMIT ?"
            _ = arguments.append(contentsOf: [limit])
        }
        return (sql, arguments)
    }
}

extension JournalQuery {
    /// Parses a time bound: a span back from `now` (`90m`, `24h`, `7d`, `2w`, `30s`) or an ISO 8601 time or date.
    public static func time(_ text: String, relativeTo now: Date = Date()) -> Date? {
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
