import Foundation
import GRDB

extension Journal {
    /// The entries a claim with this filter would take now, without taking them.
    package func dueEntries(_ filter: ClaimFilter, limit: Int?, now: Date) async throws -> [Entry] {
        try await read { db in
            var arguments = Self.dueArguments(filter, now: now)
            var sql = "\(Self.entrySelection) WHERE \(Self.dueClause(filter)) ORDER BY entry.id"
            if let limit {
                sql += " LIMIT :limit"
                _ = arguments.append(contentsOf: ["limit": limit])
            }
            return try Entry.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// Holds back an endpoint, or with `"*"` the whole host, until a time.
    package func hold(_ key: String, until: Date, reason: String, now: Date) async throws {
        try await write("write to") { db in
            try db.execute(sql: """
                INSERT INTO hold (key, until, reason, setAt) VALUES (?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until), reason = excluded.reason, setAt = excluded.setAt
                """, arguments: [key, until.unixMilliseconds, reason, now.unixMilliseconds])
        }
    }

    /// The holds still in force: endpoint (or `*` for the host) → until when, and why.
    public func holds(at now: Date? = nil) async throws -> [(key: String, until: Date, reason: String)] {
        let now = now ?? clock.now()
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT key, until, reason FROM hold WHERE until > ? ORDER BY until", arguments: [now.unixMilliseconds])
                .map { (key: $0["key"], until: Date(unixMilliseconds: $0["until"]), reason: $0["reason"]) }
        }
    }

    /// The queue now: entries per state, the oldest due entry's wait, the holds in force — what
    /// ``JournalMetrics`` reports as gauges. Three indexed reads.
    public func queueSnapshot(now: Date? = nil) async throws -> QueueSnapshot {
        let now = now ?? clock.now()
        return try await read { db in
            var depth: [EntryState: Int] = [:]
            for state in QueueSnapshot.reportedStates {
                depth[state] = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM entry WHERE state = ?"),
                                                arguments: [state.rawValue]) ?? 0
            }
            let earliestDue = try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT MIN(MAX(COALESCE(nextAttemptAt, 0), COALESCE(notBefore, 0))) FROM entry WHERE state IN (\(Self.waitingStates))
                """))
            let holds = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM hold WHERE until > ?"),
                                         arguments: [now.unixMilliseconds]) ?? 0
            let age = earliestDue.map { max(0, Double(now.unixMilliseconds - $0) / 1000) } ?? 0
            return QueueSnapshot(depth: depth, oldestDueAge: age, activeHolds: holds)
        }
    }

    /// When the journal next has work for a replayer: the earliest due queued entry, hold end, or
    /// lease that can be taken back — now for a sender that is provably dead, at its expiry for one
    /// that cannot be tested. Nil when nothing waits.
    public func nextWakeDate() async throws -> Date? {
        let due = try await read { db in
            try Int64.fetchOne(db, sql: """
                SELECT MIN(MAX(COALESCE(entry.nextAttemptAt, 0), COALESCE(entry.notBefore, 0),
                               COALESCE((SELECT MAX(until) FROM hold WHERE hold.key IN (entry.endpoint, '*')), 0)))
                FROM entry WHERE entry.state IN (\(Journal.waitingStates))
                """).map(Date.init(unixMilliseconds:))
        }
        let recoverable = try await recoverableLeaseTimes(now: clock.now())
        return ([due].compactMap { $0 } + recoverable).min()
    }
}
