/// The journal's two tables as data: each column once, in the table's order.
///
/// Every statement that lists columns, every reader by position, the change feed, the fleet's COPY and
/// its reads take their columns from here, so adding a column is one case in ``EntryColumn`` or
/// ``AttemptColumn`` plus its migration; a ``ColumnList`` gives each reader the position of a column
/// in the list its statement selected.
package enum EntryColumn: String, CaseIterable, Sendable {
    case id, uuid, createdAt, updatedAt, origin, method, path, endpoint, query, requestHeaders, requestBody, state
    case attemptCount, lastStatus, lastTransportError, lastErrorMessage, lastErrorCode, nextAttemptAt, notBefore
    case leaseOwner, leaseExpiresAt, isReplayable, traceContext, changeSeq

    /// What an attempt's outcome changes: read back after every record.
    package static let changedByOutcome: [EntryColumn] = [
        .updatedAt, .state, .attemptCount, .lastStatus, .lastTransportError, .lastErrorMessage, .lastErrorCode,
        .nextAttemptAt, .notBefore, .leaseOwner, .leaseExpiresAt,
    ]

    /// What the write-ahead INSERT fills; the rest take their defaults (`id`, `attemptCount`, the
    /// outcome's columns, and `changeSeq`, which the change trigger stamps).
    package static let written: [EntryColumn] = [
        .uuid, .createdAt, .updatedAt, .origin, .method, .path, .endpoint, .query, .requestHeaders, .requestBody, .state,
        .nextAttemptAt, .leaseOwner, .leaseExpiresAt, .isReplayable, .traceContext,
    ]

    /// Where the journal's bookkeeping ends: columns a reader of entries (a fleet store's, an export)
    /// leaves out. `changeSeq` orders the change feed and a fleet store's upserts, not documents.
    package static let documented = allCases.filter { $0 != .changeSeq }
}

/// A column of the journal's `attempt` table.
package enum AttemptColumn: String, CaseIterable, Sendable {
    case id, entryId, number, startedAt, durationMs, status, transportError, outcome, responseHeaders
    case errorMessage, errorCode, errors, bodyKind, body, bodySize, retryAfterMs, rateLimitLimit, rateLimitRemaining
    case rateLimitReset

    /// An attempt's own columns, without the keys that tie it to one journal (`id`, `entryId`): what
    /// an attempt's record writes, what the change feed ships and what a fleet store keeps.
    package static let recorded = allCases.filter { $0 != .id && $0 != .entryId }
}

/// Columns in the order one statement selects them, and where a reader by position finds each.
package struct ColumnList<Column: RawRepresentable & Hashable & Sendable>: Sendable where Column.RawValue == String {
    /// The columns, in order.
    package let columns: [Column]
    /// The first column's position in the statement's row: after any columns selected before these.
    package let offset: Int
    private let positions: [Column: Int]

    package init(_ columns: [Column], offset: Int = 0) {
        self.columns = columns
        self.offset = offset
        positions = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0 + offset) })
    }

    /// The position of `column` in a row that selected this list at ``offset``.
    package subscript(_ column: Column) -> Int {
        guard let position = positions[column] else { preconditionFailure("\(column.rawValue) is not in this column list") }
        return position
    }

    /// The position of `column`, as SQLite's C API counts them.
    package func position(_ column: Column) -> Int32 { Int32(self[column]) }

    /// The position just after the last column: where the next list in the same row starts.
    package var end: Int { offset + columns.count }

    /// `a, b, c`, or with a table `t.a, t.b, t.c`.
    package func sql(_ table: String? = nil) -> String {
        columns.map { column in table.map { "\($0).\(column.rawValue)" } ?? column.rawValue }.joined(separator: ", ")
    }

    /// The names, as a fleet store or a text format spells them.
    package var names: [String] { columns.map(\.rawValue) }
}
