import Foundation
import GRDB
import Logging

/// Every change of an entry's state, each an ``EntryEvent`` checked against ``EntryLifecycle``'s table.
/// States are bound as values, or spelled in SQL only by ``EntryLifecycle/sqlList(_:)``.
extension Journal {
    /// Writes an entry and commits it. Called before the request leaves the process.
    package func insert(_ new: NewEntry) async throws -> Entry {
        guard EntryLifecycle.initialStates.contains(new.state) else {
            throw JournalError(.invalidTransition, "an entry cannot be written \(new.state.rawValue)")
        }
        return try await write("write to") { db in
            var new = new
            let createdAt = new.createdAt.unixMilliseconds
            let endpoint = EndpointKey.make(method: new.method, path: new.path)
            // A live send to an endpoint the API asked to hold back is not sent: it waits for the
            // hold's end like any queued entry, instead of provoking the same answer again.
            if new.queuesIfHeld, new.isReplayable, new.state == .inFlight,
                let until = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT MAX(until) FROM hold WHERE key IN (?, '*') AND until > ?
                    """), arguments: [endpoint, createdAt])
            {
                new.state = .queued
                new.leaseOwner = nil
                new.leaseExpiresAt = nil
                new.nextAttemptAt = Date(unixMilliseconds: until)
            }
            let written = new
            let insert = try DirectStatement(db, JournalSQL.insertEntry, EntryColumn.written.map { column -> (any DatabaseValueConvertible)? in
                let new = written
                return switch column {
                case .uuid: new.uuid.uuidString.lowercased()
                case .createdAt, .updatedAt: createdAt
                case .origin: new.origin
                case .method: new.method
                case .path: new.path
                case .endpoint: endpoint
                case .query: new.query
                case .requestHeaders: JSONColumn.encode(new.headers)
                case .requestBody: new.body
                case .state: new.state.rawValue
                case .nextAttemptAt: new.state == .pending ? createdAt : new.nextAttemptAt?.unixMilliseconds
                case .leaseOwner: new.leaseOwner
                case .leaseExpiresAt: new.leaseExpiresAt?.unixMilliseconds
                case .isReplayable: new.isReplayable
                case .traceContext: new.traceContext.map { JSONColumn.encode($0.fields) }
                default: preconditionFailure("\(column.rawValue) is in EntryColumn.written without a value")
                }
            })
            defer { insert.finish() }
            guard try insert.step(), let id = insert.int64(0) else {
                throw JournalError(.database, "the journal did not return the new entry")
            }
            // What was written, as a read would return it, without reading it back.
            return Entry(id: id, new: new, endpoint: endpoint)
        }
    }

    /// Records an attempt and moves its entry, in one transaction: one INSERT and one UPDATE.
    ///
    /// Only the sender that holds the entry's lease records anything. A sender whose lease was taken
    /// back (it was stopped past its lease, say) records nothing over the new holder's outcome — no
    /// attempt out of time order, no hold or budget for everyone, no state flipped — and its outcome
    /// is logged and dropped: the entry is the new holder's, and a replay of it carries the same
    /// Idempotency-Key. A `nil` transition keeps the entry in flight (a 401 about to be retried inline).
    ///
    /// - Parameters:
    ///   - base: The entry as the caller last read it. Its unchanging fields (headers, body) are taken
    ///     from it instead of read back; nil reads the whole entry back.
    ///   - next: A replay worker's claim of its next entry, made in the same transaction and settled
    ///     once it committed.
    /// - Returns: The entry as it now stands, whoever decided it.
    package func record(
        _ attempt: NewAttempt, forEntry entryID: Int64, leaseOwner: String, then transition: EntryTransition?, base: Entry? = nil,
        claimingNext next: NextClaim? = nil
    ) async throws -> Entry {
        do {
            let clock = self.clock
            let (entry, isRecorded, claimed) = try await write("write to") { db -> (Entry, Bool, Entry?) in
                // Read in the transaction: a write that waited for the lock stamps when it commits.
                let now = clock.now()
                let (entry, isRecorded) = try Self.record(attempt, forEntry: entryID, leaseOwner: leaseOwner, then: transition,
                                                          base: base, now: now, in: db)
                // After the outcome, its holds and budget: the claim sees them.
                return (entry, isRecorded, try next?.claim(after: attempt, isFinal: transition != nil, now: now, in: db))
            }
            next?.settle(claimed)
            if !isRecorded {
                configuration.observability.logger.warning("outcome dropped: another sender holds the entry now", metadata: [
                    "picus.entry.id": "\(entryID)", "picus.lease": "\(leaseOwner)",
                    "picus.dropped": "\(attempt.status.map { "HTTP \($0)" } ?? attempt.transportError.map(\.kind.rawValue) ?? "-")",
                ])
            }
            return entry
        } catch {
            next?.rollBack()
            throw error
        }
    }

    private static func record(
        _ attempt: NewAttempt, forEntry entryID: Int64, leaseOwner: String, then transition: EntryTransition?, base: Entry?,
        now: Date, in db: Database
    ) throws -> (Entry, isRecorded: Bool) {
        let current = try DirectStatement(db, JournalSQL.leaseHolder, [entryID])
        guard try current.step() else {
            throw JournalError(.notFound, "entry \(entryID) vanished while its attempt was recorded", entryID: entryID)
        }
        let holds = current.text(0) == leaseOwner
        current.finish()
        guard holds else { return (try readBack(entryID, base: base, in: db), false) }
        // A held lease means the entry is inFlight (every event that leaves inFlight clears the
        // lease): the outcome must be one of the table's events from there.
        if let transition, EntryLifecycle.outcome(leadingTo: transition.state) == nil {
            throw JournalError(.invalidTransition, "an attempt cannot leave entry \(entryID) \(transition.state.rawValue)", entryID: entryID)
        }
        let error = attempt.error
        let errorMessage = error?.message ?? attempt.transportError?.historyMessage
        let keepsBody = attempt.outcome != .success
        let now = now.unixMilliseconds
        // The number is the sender's, unless another sender recorded past it meanwhile.
        let insert = try DirectStatement(db, JournalSQL.insertAttempt, JournalSQL.insertedAttemptColumns.map { column -> (any DatabaseValueConvertible)? in
            switch column {
            case .entryId: entryID
            case .number: attempt.number
            case .startedAt: attempt.startedAt.unixMilliseconds
            case .durationMs: attempt.durationMs
            case .status: attempt.status
            case .transportError: attempt.transportError?.kind.rawValue
            case .outcome: attempt.outcome.rawValue
            case .responseHeaders: attempt.status == nil ? nil : JSONColumn.encode(attempt.responseHeaders)
            case .errorMessage: errorMessage
            case .errorCode: error?.errorCode
            case .errors: error?.errors?.jsonText
            case .bodyKind: keepsBody ? error?.kind.rawValue : nil
            case .body: keepsBody ? error?.raw : nil
            case .bodySize: keepsBody ? error?.size : nil
            case .retryAfterMs: attempt.retryAfterMs
            case .rateLimitLimit: attempt.rateLimitLimit
            case .rateLimitRemaining: attempt.rateLimitRemaining
            case .rateLimitReset: attempt.rateLimitReset
            case .id: preconditionFailure("an attempt's id is the table's")
            }
        })
        let number = try insert.step() ? insert.int64(0).map(Int.init) ?? attempt.number : attempt.number
        insert.finish()
        let isSuccess = attempt.outcome == .success
        let moves = transition != nil
        try DirectStatement(db, JournalSQL.recordHeld, [
            number, now, attempt.status,
            attempt.transportError?.kind.rawValue,
            (isSuccess ? nil : errorMessage), (isSuccess ? nil : error?.errorCode),
            moves, transition?.state.rawValue, transition?.nextAttemptAt?.unixMilliseconds,
            (transition?.state == .queued ? attempt.serverNotBefore?.unixMilliseconds : nil),
            entryID,
        ]).execute()
        try DirectStatement(db, JournalSQL.advanceChangeClock, []).execute()
        if let budget = attempt.budget {
            // Within one window the budget only shrinks, so the lowest word on it wins, whatever
            // order concurrent answers are recorded in; a later window starts afresh.
            try db.cachedStatement(sql: """
                INSERT INTO budget (key, remaining, resetAt, seenAt, windowLimit)
                SELECT endpoint, ?, ?, ?, ? FROM entry WHERE id = ?
                ON CONFLICT (key) DO UPDATE SET
                    remaining = IIF(excluded.resetAt > budget.resetAt, excluded.remaining, MIN(budget.remaining, excluded.remaining)),
                    resetAt = MAX(budget.resetAt, excluded.resetAt),
                    seenAt = excluded.seenAt,
                    windowLimit = COALESCE(excluded.windowLimit, budget.windowLimit)
                WHERE excluded.resetAt >= budget.resetAt
                """).execute(arguments: [budget.remaining, budget.resetAt.unixMilliseconds, now, budget.windowLimit, entryID])
            if budget.remaining == 0, attempt.status != 429 {
                // Spent: nothing more goes to the endpoint before the reset, from any process.
                try db.cachedStatement(sql: """
                    INSERT INTO hold (key, until, reason, setAt)
                    SELECT endpoint, ?, 'rate limit spent (X-Ratelimit-Remaining: 0)', ? FROM entry WHERE id = ?
                    ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until), reason = excluded.reason, setAt = excluded.setAt
                    """).execute(arguments: [budget.resetAt.unixMilliseconds, now, entryID])
            }
        }
        if attempt.status == 429, let until = attempt.serverNotBefore {
            try db.cachedStatement(sql: """
                INSERT INTO hold (key, until, reason, setAt)
                SELECT endpoint, ?, 'rate limited (429)', ? FROM entry WHERE id = ?
                ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until), reason = excluded.reason, setAt = excluded.setAt
                """).execute(arguments: [until.unixMilliseconds, now, entryID])
        }
        return (try readBack(entryID, base: base, in: db), true)
    }

    /// The entry after an outcome: only the columns an outcome changes when the caller has the rest.
    private static func readBack(_ entryID: Int64, base: Entry?, in db: Database) throws -> Entry {
        if var entry = base, entry.id == entryID {
            let outcome = try DirectStatement(db, JournalSQL.outcomeColumns, [entryID])
            defer { outcome.finish() }
            if try outcome.step() {
                entry.update(fromOutcomeColumns: outcome)
                return entry
            }
        }
        guard let entry = try Entry.fetchOne(try db.cachedStatement(sql: "\(Self.entrySelection) WHERE entry.id = ?"), arguments: [entryID]) else {
            throw JournalError(.notFound, "entry \(entryID) vanished while its attempt was recorded", entryID: entryID)
        }
        return entry
    }

    /// Extends leases their owners still hold, in one write; for each, false when another sender has
    /// taken the entry.
    package func renewLeases(_ leases: [(entryID: Int64, owner: String)], until: Date) async throws -> [Bool] {
        try await write("write to", inline: false) { db in
            let renew = try db.cachedStatement(sql: "UPDATE entry SET leaseExpiresAt = ? WHERE id = ? AND state = ? AND leaseOwner = ?")
            return try leases.map { lease in
                try renew.execute(arguments: [until.unixMilliseconds, lease.entryID, EntryLifecycle.edge(.claim).to.rawValue, lease.owner])
                return db.changesCount > 0
            }
        }
    }

    /// Expires queued entries older than `maximumAge`, and untouched for as long, without sending them.
    /// (An operator's requeue touches an entry: it gets one more try.)
    package func expireStale(olderThan maximumAge: Duration, now: Date) async throws -> [Int64] {
        try await write("expire entries in") { db in
            try Int64.fetchAll(db, sql: """
                UPDATE entry SET state = :expired, nextAttemptAt = NULL, updatedAt = :now
                WHERE state IN (\(EntryLifecycle.sqlList(EntryLifecycle.sources(of: .age)))) AND createdAt <= :cutoff AND updatedAt <= :cutoff
                RETURNING id
                """, arguments: [
                    "now": now.unixMilliseconds, "cutoff": now.addingTimeInterval(-maximumAge.timeInterval).unixMilliseconds,
                    "expired": EntryLifecycle.edge(.age).to.rawValue,
                ])
        }
    }

    /// Cancels an entry that has not finished, so that nothing sends it.
    ///
    /// - Throws: ``JournalError`` `notFound`, or `invalidTransition` for a finished entry or one being sent.
    @discardableResult
    public func cancel(entry id: Int64, now: Date? = nil) async throws -> Entry {
        let now = now ?? clock.now()
        return try await transition(entry: id, now: now) { entry in
            if entry.state.isFinal {
                throw JournalError(.invalidTransition, "entry \(id) is \(entry.state.rawValue); only a queued or pending entry can be cancelled", entryID: id)
            }
            if entry.state == .inFlight {
                throw JournalError(.invalidTransition, "entry \(id) is in flight (\(entry.leaseOwner ?? "another process")); if its sender is gone, `picus-journal replay` takes it back first", entryID: id)
            }
            return (.cancel, nil)
        }
    }

    /// Puts a failed, expired, cancelled or queued entry back in the queue, due now.
    ///
    /// A succeeded entry is refused: requeueing it would send it twice. So is an entry that is never
    /// replayed — as decided when it was written, or by `policy` now — and one being sent.
    @discardableResult
    public func requeue(entry id: Int64, policy: RetryPolicy, now: Date? = nil) async throws -> Entry {
        let now = now ?? clock.now()
        return try await transition(entry: id, now: now) { entry in
            if !entry.isReplayable || !policy.isReplayable(method: entry.method, path: entry.path) {
                throw JournalError(.invalidTransition, "entry \(id) is \(entry.method) \(entry.path), which is never replayed", entryID: id)
            }
            switch entry.state {
            case .succeeded:
                throw JournalError(.invalidTransition, "entry \(id) succeeded; requeueing it would send it twice", entryID: id)
            case .inFlight:
                throw JournalError(.invalidTransition, "entry \(id) is in flight (\(entry.leaseOwner ?? "another process")); if its sender is gone, `picus-journal replay` takes it back first", entryID: id)
            default:
                return (.requeue, now)
            }
        }
    }

    private func transition(
        entry id: Int64, now: Date, _ decide: @escaping @Sendable (Entry) throws -> (EntryEvent, Date?)
    ) async throws -> Entry {
        try await write("write to") { db in
            let read = "\(Self.entrySelection) WHERE entry.id = ?"
            guard let entry = try Entry.fetchOne(db, sql: read, arguments: [id]) else {
                throw JournalError(.notFound, "no entry \(id) in \(self.path); run picus-journal list to see the ids", entryID: id)
            }
            let (event, next) = try decide(entry)
            let state = try EntryLifecycle.apply(event, to: entry.state, entryID: id)
            try db.execute(sql: """
                UPDATE entry SET state = ?, nextAttemptAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL, updatedAt = ? WHERE id = ?
                """, arguments: [state.rawValue, next?.unixMilliseconds, now.unixMilliseconds, id])
            guard let updated = try Entry.fetchOne(db, sql: read, arguments: [id]) else {
                throw JournalError(.notFound, "entry \(id) vanished", entryID: id)
            }
            return updated
        }
    }
}

