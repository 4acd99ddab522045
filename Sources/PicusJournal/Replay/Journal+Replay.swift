import Foundation
import GRDB

/// Which entries a replay may take.
package struct ClaimFilter: Sendable {
    /// Only this entry.
    package var id: Int64?
    /// Ignore `nextAttemptAt` (never a live lease, a final state, or the server's `notBefore`).
    package var force = false
    /// Only entries with a larger id: one pass over the journal per drain.
    package var afterID: Int64 = 0
    /// Endpoints never replayed (`POST /v1/auth/token`): never claimed.
    package var neverReplayed: [String] = []

    package init(id: Int64? = nil, force: Bool = false, afterID: Int64 = 0, neverReplayed: [String] = []) {
        self.id = id
        self.force = force
        self.afterID = afterID
        self.neverReplayed = neverReplayed
    }
}

extension Journal {
    /// The conditions under which an entry may be sent now: the single definition the claim, the
    /// dry run and the wake-up all share.
    private static func dueClause(_ filter: ClaimFilter) -> String {
        var clause = """
            entry.id > :afterID
            AND entry.state IN ('queued', 'pending')
            AND (:force OR COALESCE(entry.nextAttemptAt, 0) <= :now)
            AND COALESCE(entry.notBefore, 0) <= :now
            AND NOT EXISTS (SELECT 1 FROM hold WHERE hold.key IN (entry.endpoint, '*') AND hold.until > :now)
            """
        if filter.id != nil { clause += " AND entry.id = :id" }
        if !filter.neverReplayed.isEmpty {
            clause += " AND entry.endpoint NOT IN (\(filter.neverReplayed.indices.map { ":never\($0)" }.joined(separator: ", ")))"
        }
        return clause
    }

    private static func arguments(_ filter: ClaimFilter, now: Date) -> StatementArguments {
        var arguments: StatementArguments = ["afterID": filter.afterID, "force": filter.force, "now": now.unixMilliseconds]
        if let id = filter.id { _ = arguments.append(contentsOf: ["id": id]) }
        for (index, endpoint) in filter.neverReplayed.enumerated() {
            _ = arguments.append(contentsOf: ["never\(index)": endpoint])
        }
        return arguments
    }

    /// Leases up to `limit` due entries to `owner`, oldest first, in one statement: two replayers
    /// never take the same entry.
    package func claim(_ filter: ClaimFilter, limit: Int, owner: String, leaseDuration: Duration, now: Date) async throws -> [Entry] {
        try await write("replay from") { db in
            var arguments = Self.arguments(filter, now: now)
            _ = arguments.append(contentsOf: [
                "owner": owner, "until": now.addingTimeInterval(leaseDuration.timeInterval).unixMilliseconds, "limit": limit,
            ])
            let claim = try db.cachedStatement(sql: """
                UPDATE entry SET state = 'inFlight', leaseOwner = :owner, leaseExpiresAt = :until, updatedAt = :now
                WHERE id IN (SELECT entry.id FROM entry WHERE \(Self.dueClause(filter)) ORDER BY entry.id LIMIT :limit)
                RETURNING id
                """)
            let ids = try Int64.fetchAll(claim, arguments: arguments)
            let read = try db.cachedStatement(sql: "\(Self.entrySelection) WHERE entry.id = ?")
            return try ids.sorted().compactMap { try Entry.fetchOne(read, arguments: [$0]) }
        }
    }

    /// The entries a claim with this filter would take now, without taking them.
    package func dueEntries(_ filter: ClaimFilter, limit: Int?, now: Date) async throws -> [Entry] {
        try await read { db in
            var arguments = Self.arguments(filter, now: now)
            var sql = "\(Self.entrySelection) WHERE \(Self.dueClause(filter)) ORDER BY entry.id"
            if let limit {
                sql += " LIMIT :limit"
                _ = arguments.append(contentsOf: ["limit": limit])
            }
            return try Entry.fetchAll(db, sql: sql, arguments: arguments)
        }
    }

    /// Takes back entries whose sender stopped before recording the outcome (their lease ran out).
    ///
    /// Each gets an `abandoned` attempt in its history — the server may have received it — and is
    /// queued for replay with its own Idempotency-Key, or failed for an operator to decide when
    /// `replay` is false.
    package func recoverAbandoned(now: Date, replay: Bool, neverReplayed: Set<String>) async throws -> [Int64] {
        try await write("recover abandoned entries in") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, endpoint, updatedAt, (SELECT COALESCE(MAX(number), 0) FROM attempt WHERE entryId = entry.id) AS lastNumber
                FROM entry WHERE state = 'inFlight' AND leaseExpiresAt <= ?
                """, arguments: [now.unixMilliseconds])
            for row in rows {
                let id: Int64 = row["id"]
                let number: Int = row["lastNumber"] + 1
                let startedAt: Int64 = row["updatedAt"]
                let replay = replay && !neverReplayed.contains(row["endpoint"])
                let message = replay
                    ? "the process sending it stopped before recording the outcome; the server may have received it; replaying with the same Idempotency-Key"
                    : "the process sending it stopped before recording the outcome; the server may have received it; parked for an operator (requeue to send it again)"
                try db.execute(sql: """
                    INSERT INTO attempt (entryId, number, startedAt, durationMs, transportError, outcome, errorMessage)
                    VALUES (?, ?, ?, ?, 'abandoned', ?, ?)
                    """, arguments: [id, number, startedAt, Double(now.unixMilliseconds - startedAt), replay ? "retryable" : "permanent", message])
                try db.execute(sql: """
                    UPDATE entry SET state = ?, attemptCount = ?, nextAttemptAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL,
                        lastStatus = NULL, lastTransportError = 'abandoned', lastErrorMessage = ?, lastErrorCode = NULL, updatedAt = ?
                    WHERE id = ?
                    """, arguments: [replay ? "queued" : "failed", number, replay ? now.unixMilliseconds : nil, message,
                                     now.unixMilliseconds, id])
            }
            return rows.map { $0["id"] }
        }
    }

    /// Expires queued entries older than `maximumAge`, and untouched for as long, without sending them.
    /// (An operator's requeue touches an entry: it gets one more try.)
    package func expireStale(olderThan maximumAge: Duration, now: Date) async throws -> [Int64] {
        try await write("expire entries in") { db in
            try Int64.fetchAll(db, sql: """
                UPDATE entry SET state = 'expired', nextAttemptAt = NULL, updatedAt = :now
                WHERE state IN ('queued', 'pending') AND createdAt <= :cutoff AND updatedAt <= :cutoff
                RETURNING id
                """, arguments: ["now": now.unixMilliseconds, "cutoff": now.addingTimeInterval(-maximumAge.timeInterval).unixMilliseconds])
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
    public func holds(at now: Date = Date()) async throws -> [(key: String, until: Date, reason: String)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT key, until, reason FROM hold WHERE until > ? ORDER BY until", arguments: [now.unixMilliseconds])
                .map { (key: $0["key"], until: Date(unixMilliseconds: $0["until"]), reason: $0["reason"]) }
        }
    }

    /// When the journal next has work for a replayer: the earliest due queued entry, lease expiry
    /// or hold end. Nil when nothing waits.
    public func nextWakeDate() async throws -> Date? {
        try await read { db in
            let ms = try Int64.fetchOne(db, sql: """
                SELECT MIN(t) FROM (
                    SELECT MAX(COALESCE(entry.nextAttemptAt, 0), COALESCE(entry.notBefore, 0),
                               COALESCE((SELECT MAX(until) FROM hold WHERE hold.key IN (entry.endpoint, '*')), 0)) AS t
                    FROM entry WHERE entry.state IN ('queued', 'pending')
                    UNION ALL
                    SELECT leaseExpiresAt FROM entry WHERE state = 'inFlight' AND leaseExpiresAt IS NOT NULL
                )
                """)
            return ms.map(Date.init(unixMilliseconds:))
        }
    }

    /// Cancels an entry that has not finished, so that nothing sends it.
    ///
    /// - Throws: ``JournalError`` `notFound`, or `invalidTransition` for a finished entry or one being sent.
    @discardableResult
    public func cancel(entry id: Int64, now: Date = Date()) async throws -> Entry {
        try await transition(entry: id, now: now) { entry in
            if entry.state.isFinal {
                throw JournalError(.invalidTransition, "entry \(id) is \(entry.state.rawValue); only a queued or pending entry can be cancelled", entryID: id)
            }
            if entry.state == .inFlight, let until = entry.leaseExpiresAt, until > now {
                throw JournalError(.invalidTransition, "entry \(id) is being sent by \(entry.leaseOwner ?? "another process") until \(ISO8601.string(from: until)); retry after that", entryID: id)
            }
            return ("cancelled", nil)
        }
    }

    /// Puts a failed, expired, cancelled or queued entry back in the queue, due now.
    ///
    /// A succeeded entry is refused: requeueing it would send it twice. So is an entry the policy
    /// never replays (the token exchange).
    @discardableResult
    public func requeue(entry id: Int64, policy: RetryPolicy = RetryPolicy(), now: Date = Date()) async throws -> Entry {
        try await transition(entry: id, now: now) { entry in
            if !policy.isReplayable(method: entry.method, path: entry.path) {
                throw JournalError(.invalidTransition, "entry \(id) is \(entry.method) \(entry.path), which is never replayed", entryID: id)
            }
            switch entry.state {
            case .succeeded:
                throw JournalError(.invalidTransition, "entry \(id) succeeded; requeueing it would send it twice", entryID: id)
            case .inFlight where (entry.leaseExpiresAt ?? .distantPast) > now:
                throw JournalError(.invalidTransition, "entry \(id) is being sent by \(entry.leaseOwner ?? "another process"); it needs no requeue", entryID: id)
            default:
                return ("queued", now)
            }
        }
    }

    private func transition(
        entry id: Int64, now: Date, _ decide: @escaping @Sendable (Entry) throws -> (String, Date?)
    ) async throws -> Entry {
        try await write("write to") { db in
            guard let entry = try Entry.fetchOne(db, sql: "\(Self.entrySelection) WHERE entry.id = ?", arguments: [id]) else {
                throw JournalError(.notFound, "no entry \(id) in \(self.path); run picus-journal list to see the ids", entryID: id)
            }
            let (state, next) = try decide(entry)
            try db.execute(sql: """
                UPDATE entry SET state = ?, nextAttemptAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL, updatedAt = ? WHERE id = ?
                """, arguments: [state, next?.unixMilliseconds, now.unixMilliseconds, id])
            return try Entry.fetchOne(db, sql: "\(Self.entrySelection) WHERE entry.id = ?", arguments: [id])!
        }
    }
}
