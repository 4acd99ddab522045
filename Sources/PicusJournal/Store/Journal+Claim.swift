import Foundation
import GRDB

/// Claiming due entries, and giving back the ones never sent. The conditions under which an entry
/// may be sent now are defined once here, for the claim, the dry run and the wake-up alike.
extension Journal {
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
    static let claimStatements: [String] = [false, true].flatMap { budgeted in
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
}
