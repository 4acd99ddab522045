import Foundation
import GRDB

/// The SQL a ``JournalQuery`` compiles to: a journal's SQLite, or a fleet store's PostgreSQL.
///
/// One query, one compiler: the filters, the order, the cursor and the statistics are written
/// once, in the SQL both engines share, and only what differs is spelled per engine here (table
/// names, the path glob, the text search, placeholders).
package enum SQLDialect: Sendable, Hashable {
    /// A local journal; `fullTextSearch` when its SQLite has FTS5 and the trigram index.
    case sqlite(fullTextSearch: Bool)
    /// A fleet store: its tables live in `schema`.
    case postgres(schema: String)

    /// The entry table, to follow `FROM` (aliased `entry` by the caller).
    package var entryTable: String {
        switch self {
        case .sqlite: "entry"
        case .postgres(let schema): "\(schema).entry"
        }
    }

    /// The attempt table, to follow `FROM` (aliased `attempt` by the caller).
    package var attemptTable: String {
        switch self {
        case .sqlite: "attempt"
        case .postgres(let schema): "\(schema).attempt"
        }
    }

    /// The join condition from `entry` to its `attempt` rows.
    package var attemptOfEntry: String {
        switch self {
        case .sqlite: "attempt.entryId = entry.id"
        case .postgres: "attempt.entryUuid = entry.uuid"
        }
    }

    /// Entries with their last attempt's `errors` as `lastErrors`: the selection every read of entries starts from.
    /// In PostgreSQL the columns are named, in the order of ``fleetEntryColumns``, then `agent` and `lastErrors`.
    package var entrySelection: String {
        let columns = switch self {
        case .sqlite: "entry.*"
        case .postgres: "\(Self.fleetEntryColumns.sql("entry")), entry.agent"
        }
        return """
            SELECT \(columns), attempt.errors AS lastErrors
            FROM \(entryTable) AS entry LEFT JOIN \(attemptTable) AS attempt ON \(attemptOfEntry) AND attempt.number = entry.attemptCount
            """
    }

    /// The columns of a fleet store's entry its reads select, in order: the documented entry
    /// columns (`id` being the store's own), then ``fleetAgentColumn``, then `lastErrors`.
    package static let fleetEntryColumns = ColumnList(EntryColumn.documented)

    /// The position of a fleet entry's `agent`, after ``fleetEntryColumns``; `lastErrors` follows it.
    package static let fleetAgentColumn = fleetEntryColumns.end

    /// The columns of a fleet store's attempt its reads select, in order.
    package static let fleetAttemptColumns = ColumnList(AttemptColumn.recorded)

    /// `sql`, written with `?` placeholders, in this engine's spelling: PostgreSQL numbers them
    /// (`$1`, `$2`, …). The compiler never puts a `?` inside a literal, so each one is a placeholder.
    package func placeholders(_ sql: String) -> String {
        guard case .postgres = self else { return sql }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        for character in sql {
            if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// A value bound to a compiled query.
package enum SQLValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
}

/// SQL text with `?` placeholders and the values bound to them, in order.
package struct SQLFragment: Sendable {
    package var sql: String
    package var values: [SQLValue]

    package init(_ sql: String, _ values: [SQLValue] = []) {
        self.sql = sql
        self.values = values
    }

    /// The values as GRDB binds them.
    package var statementArguments: StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .integer(let number): number
            case .text(let text): text
            }
        })
    }
}

/// Glob patterns as regular expressions, for engines without `GLOB`.
package enum Glob {
    /// The POSIX regular expression, anchored at both ends, that matches what SQLite's
    /// case-sensitive `GLOB` matches: `*` any run, `?` one character, `[…]` a class (`[^…]` negated).
    package static func regularExpression(_ glob: String) -> String {
        var result = "^"
        var characters = Array(glob)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*": result += ".*"
            case "?": result += "."
            case "[":
                // A class runs to the next `]` (a `]` first in the class is literal); unclosed, `[` is literal.
                var body = ""
                var rest = characters
                if rest.first == "^" { body += "^"; rest.removeFirst() }
                if rest.first == "]" { body += "\\]"; rest.removeFirst() }
                var closed = false
                while let next = rest.popFirst() {
                    if next == "]" { closed = true; break }
                    body += next == "\\" ? "\\\\" : String(next)
                }
                if closed {
                    result += "[" + body + "]"
                    characters = rest
                } else {
                    result += "\\["
                }
            default:
                result += "\\.^$|()[]{}*+?\\".contains(character) ? "\\" + String(character) : String(character)
            }
        }
        return result + "$"
    }
}
