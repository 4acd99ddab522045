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

    /// The conditions under which an entry may be sent now: the single definition the claim, the
    /// dry run and the wake-up all share.
    /// The waiting states as SQL literals, spelled from ``EntryState``: the partial index
    /// `entry_due` serves a query only when its WHERE clause names them literally.
    package static let waitingStates = EntryLifecycle.sqlList(EntryLifecycle.sources(of: .claim))

    static func dueClause(_ filter: ClaimFilter) -> String {
        dueClause(byID: filter.id != nil)
    }

    private static func dueClause(byID: Bool) -> String {
        """
        entry.id > :afterID
        AND entry.state IN (\(waitingStates))
        AND entry.isReplayable
        AND (:force OR COALESCE(entry.nextAttemptAt, 0) <= :now)
        AND COALESCE(entry.notBefore, 0) <= :now
        AND NOT EXISTS (SELECT 1 FROM hold WHERE hold.key IN (entry.endpoint, '*') AND hold.until > :now)
        """ + (byID ? " AND entry.id = :id" : "")
    }

    /// The values ``dueClause(_:)`` names, by name: the one list the claim and the dry run bind
    /// (`id` is nil unless the filter asks for one entry).
    static func dueValues(_ filter: ClaimFilter, now: Int64) -> [(String, (any DatabaseValueConvertible)?)] {
        [("afterID", filter.afterID), ("force", filter.force), ("now", now), ("id", filter.id)]
    }

    static func dueArguments(_ filter: ClaimFilter, now: Date) -> StatementArguments {
        StatementArguments(Dictionary(uniqueKeysWithValues: dueValues(filter, now: now.unixMilliseconds)))
    }

    /// Leases up to `limit` due entries to `owner` in the caller's transaction, oldest first, in one
    /// statement: two replayers never take the same entry. A drain claims through its ``DrainCursor``.
    ///
    /// A claim runs once per replayed entry, so its values go in and its rows come out on SQLite's
    /// C API (``DirectStatement``), by position, and its statements are spelled once per process.
    static func claim(_ filter: ClaimFilter, limit: Int, owner: String, leaseDuration: Duration, now: Date, in db: Database) throws -> [Entry] {
        let until = now.addingTimeInterval(leaseDuration.timeInterval).unixMilliseconds
        let now = now.unixMilliseconds
        let budget = try DirectStatement(db, JournalSQL.anyBudget, [now])
        let budgeted = try budget.step() ? budget.int64(0) != 0 : true
        budget.finish()
        let claim = try DirectStatement(db, JournalSQL.claim(budgeted: budgeted, byID: filter.id != nil), named: dueValues(filter, now: now) + [
            ("owner", owner), ("until", until), ("limit", limit),
            // Candidates read past entries an endpoint's budget leaves out, within a bound.
            ("scan", max(limit * 4, 64)),
            ("inFlight", EntryLifecycle.edge(.claim).to.rawValue),
        ])
        var entries: [Entry] = []
        while try claim.step() {
            entries.append(Entry(claimed: claim))
        }
        claim.finish()
        return entries.sorted { $0.id < $1.id }
    }

    /// The claim's statement in each of its four shapes, spelled once: ``JournalSQL/claim(budgeted:byID:)``.
    fileprivate static let claimStatements: [String] = [false, true].flatMap { budgeted in
        [false, true].map { byID in claimStatement(budgeted: budgeted, byID: byID) }
    }

    private static func claimStatement(budgeted: Bool, byID: Bool) -> String {
        // Each entry gets a lease of its own — the claim's token and the entry's id — so that a
        // note one sender leaves about one entry is never read as another's. The claimed rows come
        // back whole from the statement itself, not from a second query.
        let lease = "state = :inFlight, leaseOwner = IIF(:limit = 1, :owner, \(LeaseOwner.perEntrySQL)), leaseExpiresAt = :until, updatedAt = :now"
        let returning = "RETURNING \(JournalSQL.claimedColumns)"
        // Without a budget in force anywhere, every due candidate may go: the first ones in id
        // order, with no ranking per endpoint (a window over `scan` candidates, per claim).
        return budgeted ? """
            UPDATE entry SET \(lease)
            WHERE id IN (
                SELECT due.id FROM (
                    SELECT id, endpoint, ROW_NUMBER() OVER (PARTITION BY endpoint ORDER BY id) AS rank FROM (
                        SELECT entry.id, entry.endpoint FROM entry INDEXED BY entry_due
                        WHERE \(dueClause(byID: byID)) ORDER BY entry.id LIMIT :scan)
                ) AS due
                LEFT JOIN budget ON budget.key = due.endpoint
                -- No more sends start to an endpoint than its budget, less those in flight, allows: what
                -- remains of the window, or once it has reset, the whole window as last known.
                WHERE budget.key IS NULL OR (budget.resetAt <= :now AND budget.windowLimit IS NULL)
                    OR due.rank <= IIF(budget.resetAt > :now, budget.remaining, budget.windowLimit)
                    - (SELECT COUNT(*) FROM entry AS sending WHERE sending.state = :inFlight AND sending.endpoint = due.endpoint)
                ORDER BY due.id LIMIT :limit)
            \(returning)
            """ : """
            UPDATE entry SET \(lease)
            WHERE id IN (
                SELECT entry.id FROM entry INDEXED BY entry_due WHERE \(dueClause(byID: byID)) ORDER BY entry.id LIMIT :limit)
            \(returning)
            """
    }

    /// Gives back claimed entries that were never sent (a drain stopped before it reached them): they
    /// wait again as they did, `pending` or `queued`, with no attempt recorded. Only entries still
    /// leased as claimed are touched.
    package func release(_ entries: [Entry]) async throws {
        guard !entries.isEmpty else { return }
        try await write("give back claimed entries in") { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE entry SET state = IIF(attemptCount = 0, :pending, :queued), leaseOwner = NULL, leaseExpiresAt = NULL
                WHERE id = :id AND state = :inFlight AND leaseOwner = :lease
                """)
            for entry in entries {
                try statement.execute(arguments: [
                    "pending": EntryLifecycle.edge(.releaseUnsent).to.rawValue, "queued": EntryLifecycle.edge(.releaseSent).to.rawValue,
                    "inFlight": EntryLifecycle.edge(.claim).to.rawValue, "id": entry.id, "lease": entry.leaseOwner,
                ])
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

/// The statements of the write path, shared with the benchmark's baseline on SQLite's C API.
package enum JournalSQL {
    /// The write-ahead row, committed before the request leaves.
    package static let insertEntry = """
        INSERT INTO entry (\(ColumnList(EntryColumn.written).sql()))
        VALUES (\(Array(repeating: "?", count: EntryColumn.written.count).joined(separator: ", ")))
        RETURNING id
        """

    /// Moves the change clock past the value a statement stamped on the one row it changed.
    package static let advanceChangeClock = "UPDATE changeClock SET value = value + 1"

    /// An attempt: its number is the sender's, unless another sender recorded past it meanwhile.
    package static let insertAttempt = """
        INSERT INTO attempt (\(ColumnList(insertedAttemptColumns).sql()))
        VALUES (\(insertedAttemptColumns.enumerated().map { index, column in
            column == .number ? "MAX(?\(index + 1), (SELECT COALESCE(MAX(number), 0) + 1 FROM attempt WHERE entryId = ?1))" : "?\(index + 1)"
        }.joined(separator: ", ")))
        RETURNING number
        """

    /// What an attempt's INSERT fills, its entry first (the number's guard reads it as `?1`).
    package static let insertedAttemptColumns: [AttemptColumn] = [.entryId] + AttemptColumn.recorded

    /// Who may record an entry's outcome: its lease holder, read in the recording transaction.
    package static let leaseHolder = "SELECT leaseOwner FROM entry WHERE id = ?"

    /// An attempt's outcome, recorded by the sender that holds the lease (or saw a success on an
    /// entry nobody is sending): the count, the last status and error, and — with a transition
    /// (`moves`) — the state. Plain statements, where one `UPDATE … FROM … RETURNING` that decided
    /// the holder in SQL took twice as long in SQLite (85 µs against 52, measured).
    ///
    /// It stamps the entry with the change clock's next value itself — ``advanceChangeClock`` must
    /// follow in the same transaction — so the change trigger, which stamps only rows whose `changeSeq`
    /// did not move, leaves it alone: one write of the row instead of two on every outcome.
    ///
    /// Parameters, by position (bound by name they cost a dictionary of names per outcome): the
    /// attempt's number, now, status, transport error, error message, error code, whether the state
    /// moves, the state, the next attempt, the server's `notBefore`, the id. An outcome without a move
    /// (a 401 retried inline) keeps the entry and its lease.
    package static let recordHeld = """
        UPDATE entry SET changeSeq = (SELECT value + 1 FROM changeClock),
            attemptCount = MAX(attemptCount, ?1), updatedAt = ?2,
            lastStatus = ?3, lastTransportError = ?4, lastErrorMessage = ?5, lastErrorCode = ?6,
            state = IIF(?7, ?8, state),
            nextAttemptAt = IIF(?7, ?9, nextAttemptAt),
            notBefore = IIF(?7, ?10, notBefore),
            leaseOwner = IIF(?7, NULL, leaseOwner),
            leaseExpiresAt = IIF(?7, NULL, leaseExpiresAt)
        WHERE id = ?11
        """

    /// The columns an outcome changes, as ``Entry/update(fromOutcomeColumns:)`` reads them; the last
    /// attempt's `errors` follow, at ``lastErrorsPosition``.
    static let outcomeColumnList = ColumnList(EntryColumn.changedByOutcome)

    /// Where a read of the outcome's columns has the last attempt's `errors`.
    static let lastErrorsPosition = outcomeColumnList.end

    /// The rest of a claimed entry's columns, after the outcome's and `lastErrors`.
    static let claimedColumnList = ColumnList(
        EntryColumn.documented.filter { !EntryColumn.changedByOutcome.contains($0) }, offset: lastErrorsPosition + 1)

    private static let changingColumns = """
        \(outcomeColumnList.sql()),
            (SELECT errors FROM attempt WHERE attempt.entryId = entry.id AND attempt.number = entry.attemptCount) AS lastErrors
        """

    /// The columns an outcome changes, read back after it is recorded.
    package static let outcomeColumns = "SELECT \(changingColumns) FROM entry WHERE id = ?"

    /// A claimed entry's columns: those an outcome changes, then the rest, in the order
    /// ``Entry/init(claimed:)`` reads them.
    static let claimedColumns = "\(changingColumns), \(claimedColumnList.sql())"

    /// Whether a rate-limit budget is in force for any endpoint. Parameter: now.
    static let anyBudget = "SELECT EXISTS (SELECT 1 FROM budget WHERE resetAt > ? OR windowLimit IS NOT NULL)"

    /// The statement that leases due entries: ranked per endpoint against its budget when one is
    /// in force (`budgeted`), for one entry only when asked `byID`.
    static func claim(budgeted: Bool, byID: Bool) -> String {
        Journal.claimStatements[(budgeted ? 2 : 0) + (byID ? 1 : 0)]
    }
}
