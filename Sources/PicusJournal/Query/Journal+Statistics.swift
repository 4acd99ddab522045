import Foundation
import GRDB

extension Journal {
    /// Counts the entries that match `query` (its limit and cursor are ignored), grouped if asked.
    public func statistics(matching query: JournalQuery, by grouping: Statistics.Grouping? = nil, topErrorCount: Int = 5) async throws -> Statistics {
        var query = query
        query.limit = nil
        query.after = nil
        let (clause, arguments) = query.whereClause(fullTextSearch: hasFullTextSearch)
        return try await read { db in
            var byState: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM entry WHERE \(clause) GROUP BY state", arguments: arguments) {
                byState[row["state"]] = row["n"]
            }
            let total = byState.values.reduce(0, +)
            let failed = byState["failed", default: 0] + byState["expired", default: 0]
            let finished = failed + byState["succeeded", default: 0]

            var errorArguments = arguments
            _ = errorArguments.append(contentsOf: [topErrorCount])
            let topErrors = try Row.fetchAll(db, sql: """
                SELECT lastErrorMessage AS message, COUNT(*) AS n FROM entry
                WHERE \(clause) AND lastErrorMessage IS NOT NULL AND state NOT IN ('succeeded', 'inFlight')
                GROUP BY lastErrorMessage ORDER BY n DESC, message LIMIT ?
                """, arguments: errorArguments).map { Statistics.Message(message: $0["message"], count: $0["n"]) }

            let oldest = try Entry.fetchOne(db, sql: """
                \(Self.entrySelection) WHERE \(clause) AND entry.state IN ('queued', 'pending') ORDER BY entry.createdAt, entry.id LIMIT 1
                """, arguments: arguments)

            var groups: [Statistics.Group] = []
            if let grouping {
                let key: String = switch grouping {
                case .status: "COALESCE(CAST(lastStatus AS TEXT), lastTransportError, 'none')"
                case .path: "path"
                case .errorCode: "COALESCE(lastErrorCode, 'none')"
                // Whole buckets as numbers (cheap per row); formatted once per group below.
                case .hour: "CAST(createdAt / 3600000 AS TEXT)"
                case .day: "CAST(createdAt / 86400000 AS TEXT)"
                }
                let isTime = grouping == .hour || grouping == .day
                let order = isTime ? "createdAt / \(grouping == .hour ? 3_600_000 : 86_400_000)" : "n DESC, k"
                groups = try Row.fetchAll(db, sql: """
                    SELECT \(key) AS k, COUNT(*) AS n,
                        SUM(state IN ('failed', 'expired')) AS failed,
                        SUM(state IN ('failed', 'expired', 'succeeded')) AS finished
                    FROM entry WHERE \(clause) GROUP BY k ORDER BY \(order)
                    """, arguments: arguments).map { row in
                    let finished: Int = row["finished"]
                    let failed: Int = row["failed"]
                    var key: String = row["k"]
                    if isTime, let bucket = Int64(key) {
                        let text = ISO8601.string(from: Date(unixMilliseconds: bucket * (grouping == .hour ? 3_600_000 : 86_400_000)))
                        key = grouping == .hour ? String(text.prefix(13)) + ":00Z" : String(text.prefix(10))
                    }
                    return Statistics.Group(key: key, count: row["n"], failed: failed,
                                            failureRate: finished > 0 ? Double(failed) / Double(finished) : nil)
                }
            }
            return Statistics(
                total: total, byState: byState, failureRate: finished > 0 ? Double(failed) / Double(finished) : nil,
                topErrors: topErrors, queueDepth: byState["queued", default: 0] + byState["pending", default: 0],
                oldestQueued: oldest.map { Statistics.Waiting(id: $0.id, createdAt: $0.createdAt, dueAt: $0.dueAt) },
                grouping: grouping?.rawValue, groups: groups)
        }
    }
}
