import Foundation
import GRDB

extension Journal {
    /// Counts the entries that match `query` (its limit and cursor are ignored), grouped if asked.
    public func statistics(matching query: JournalQuery, by grouping: Statistics.Grouping? = nil, topErrorCount: Int = 5) async throws -> Statistics {
        let plan = StatisticsPlan(query: query, grouping: grouping, topErrorCount: topErrorCount, dialect: dialect)
        return try await read { db in
            let byState = try Row.fetchAll(db, sql: plan.byState.sql, arguments: plan.byState.statementArguments)
                .map { (state: $0["state"] as String, count: $0["n"] as Int) }
            let topErrors = try Row.fetchAll(db, sql: plan.topErrors.sql, arguments: plan.topErrors.statementArguments)
                .map { Statistics.Message(message: $0["message"], count: $0["n"]) }
            let oldest = try Entry.fetchOne(db, sql: plan.oldest.sql, arguments: plan.oldest.statementArguments)
            let groups = try plan.groups.map { sql in
                try Row.fetchAll(db, sql: sql.sql, arguments: sql.statementArguments).map {
                    StatisticsPlan.GroupRow(key: $0["k"], count: $0["n"], failed: $0["failed"], finished: $0["finished"])
                }
            } ?? []
            return plan.statistics(byState: byState, topErrors: topErrors, oldest: oldest, groups: groups)
        }
    }
}

/// The queries behind ``Statistics``, for either engine, and how their rows become statistics:
/// written once for the journal and the fleet store.
package struct StatisticsPlan: Sendable {
    /// One row of the grouped counts.
    package struct GroupRow: Sendable {
        package var key: String
        package var count: Int
        package var failed: Int
        package var finished: Int

        package init(key: String, count: Int, failed: Int, finished: Int) {
            self.key = key
            self.count = count
            self.failed = failed
            self.finished = finished
        }
    }

    /// `state`, `n`: entries per state.
    package let byState: SQLFragment
    /// `message`, `n`: the most frequent last error messages of entries not succeeded.
    package let topErrors: SQLFragment
    /// The oldest waiting entry, selected as every entry read is.
    package let oldest: SQLFragment
    /// `k`, `n`, `failed`, `finished` per group, when grouped.
    package let groups: SQLFragment?
    private let grouping: Statistics.Grouping?

    package init(query: JournalQuery, grouping: Statistics.Grouping?, topErrorCount: Int, dialect: SQLDialect) {
        var query = query
        query.limit = nil
        query.after = nil
        let clause = query.whereClause(dialect)
        let table = "\(dialect.entryTable) AS entry"
        func fragment(_ sql: String, _ extra: [SQLValue] = []) -> SQLFragment {
            SQLFragment(dialect.placeholders(sql), clause.values + extra)
        }
        self.grouping = grouping
        byState = fragment("SELECT entry.state AS state, COUNT(*) AS n FROM \(table) WHERE \(clause.sql) GROUP BY entry.state")
        topErrors = fragment("""
            SELECT entry.lastErrorMessage AS message, COUNT(*) AS n FROM \(table)
            WHERE \(clause.sql) AND entry.lastErrorMessage IS NOT NULL AND entry.state NOT IN (\(EntryLifecycle.sqlList([.succeeded, .inFlight])))
            GROUP BY entry.lastErrorMessage ORDER BY n DESC, message LIMIT ?
            """, [.integer(Int64(topErrorCount))])
        oldest = fragment("""
            \(dialect.entrySelection) WHERE \(clause.sql) AND entry.state IN (\(Journal.waitingStates)) ORDER BY entry.createdAt, entry.id LIMIT 1
            """)
        guard let grouping else {
            groups = nil
            return
        }
        let key: String = switch grouping {
        case .status: "COALESCE(CAST(entry.lastStatus AS TEXT), entry.lastTransportError, 'none')"
        case .path: "entry.path"
        case .errorCode: "COALESCE(entry.lastErrorCode, 'none')"
        case .agent:
            if case .postgres = dialect { "entry.agent" } else { "'none'" }
        // Whole buckets as numbers (cheap per row); formatted once per group.
        case .hour: "CAST(entry.createdAt / 3600000 AS TEXT)"
        case .day: "CAST(entry.createdAt / 86400000 AS TEXT)"
        }
        let failed = "SUM(CASE WHEN entry.state IN (\(EntryLifecycle.sqlList([.failed, .expired]))) THEN 1 ELSE 0 END) AS failed"
        let finished = "SUM(CASE WHEN entry.state IN (\(EntryLifecycle.sqlList([.failed, .expired, .succeeded]))) THEN 1 ELSE 0 END) AS finished"
        if query.anyAttempt, let attemptKey = Self.attemptKey(grouping) {
            // Every status (or error code) an entry's attempts got, each entry counted once per key.
            groups = fragment("""
                SELECT entry.k AS k, COUNT(*) AS n, \(failed), \(finished) FROM (
                    SELECT DISTINCT entry.id, entry.state, \(attemptKey) AS k
                    FROM \(table) JOIN \(dialect.attemptTable) AS attempt ON \(dialect.attemptOfEntry) WHERE \(clause.sql)
                ) AS entry GROUP BY entry.k ORDER BY n DESC, k
                """)
            return
        }
        let order = grouping == .hour || grouping == .day ? "MIN(entry.createdAt)" : "n DESC, k"
        groups = fragment("""
            SELECT \(key) AS k, COUNT(*) AS n, \(failed), \(finished)
            FROM \(table) WHERE \(clause.sql) GROUP BY k ORDER BY \(order)
            """)
    }

    /// The key of a grouping that reads an attempt, from every attempt rather than the entry's last.
    private static func attemptKey(_ grouping: Statistics.Grouping) -> String? {
        switch grouping {
        case .status: "COALESCE(CAST(attempt.status AS TEXT), attempt.transportError, 'none')"
        case .errorCode: "COALESCE(attempt.errorCode, 'none')"
        case .path, .agent, .hour, .day: nil
        }
    }

    /// The statistics the rows of the queries above make.
    package func statistics(byState rows: [(state: String, count: Int)], topErrors: [Statistics.Message], oldest: Entry?,
                            groups: [GroupRow]) -> Statistics {
        var byState: [String: Int] = [:]
        for row in rows { byState[row.state] = row.count }
        let total = byState.values.reduce(0, +)
        let failed = byState["failed", default: 0] + byState["expired", default: 0]
        let finished = failed + byState["succeeded", default: 0]
        let bucket: Int64? = switch grouping {
        case .hour: 3_600_000
        case .day: 86_400_000
        default: nil
        }
        let groups = groups.map { row in
            var key = row.key
            if let bucket, let number = Int64(key) {
                let text = ISO8601.string(from: Date(unixMilliseconds: number * bucket))
                key = bucket == 3_600_000 ? String(text.prefix(13)) + ":00Z" : String(text.prefix(10))
            }
            return Statistics.Group(key: key, count: row.count, failed: row.failed,
                                    failureRate: row.finished > 0 ? Double(row.failed) / Double(row.finished) : nil)
        }
        return Statistics(
            total: total, byState: byState, failureRate: finished > 0 ? Double(failed) / Double(finished) : nil,
            topErrors: topErrors, queueDepth: byState["queued", default: 0] + byState["pending", default: 0],
            oldestQueued: oldest.map { Statistics.Waiting(id: $0.id, createdAt: $0.createdAt, dueAt: $0.dueAt) },
            grouping: grouping?.rawValue, groups: groups)
    }
}
