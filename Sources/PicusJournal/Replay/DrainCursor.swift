import Foundation
import GRDB

/// One drain's place in the journal, shared by all its claims: the cursor that keeps a drain to one
/// pass over the journal, and how many entries it may still take.
///
/// Both are read and moved inside the claiming transactions, which the journal's writer runs one at
/// a time, so claims made in one transaction — a batch, or the next entries of several workers
/// whose outcomes share a commit — see each other. A claim whose transaction then fails gives its
/// share of the limit back (``returnTaken(_:)``); its entries wait behind the cursor, for the next
/// drain.
package final class DrainCursor: Sendable {
    private struct State {
        var afterID: Int64 = 0
        var remaining: Int?
    }

    private let state: LockedValue<State>
    /// Ignore `nextAttemptAt`, as the drain was asked.
    package let force: Bool

    /// A cursor at the journal's start that lets a drain take at most `limit` entries (nil: all).
    package init(limit: Int?, force: Bool) {
        state = LockedValue(State(remaining: limit))
        self.force = force
    }

    /// Gives back to the limit entries a claim took in a transaction that did not commit.
    package func returnTaken(_ count: Int) {
        state.withLock { state in
            if let remaining = state.remaining { state.remaining = remaining + count }
        }
    }

    /// Whether the drain may take no more entries.
    package var isSpent: Bool { state.withLock { $0.remaining == 0 } }

    /// Leases up to `wanted` due entries past the cursor in the caller's transaction — fewer when the
    /// drain's limit is near — and moves the cursor past them.
    package func claim(
        _ wanted: Int, entryID: Int64? = nil, owner: String, leaseDuration: Duration, now: Date, in db: Database
    ) throws -> [Entry] {
        let (afterID, allowed) = state.withLock { state -> (Int64, Int) in
            let allowed = min(wanted, state.remaining ?? wanted)
            if let remaining = state.remaining { state.remaining = remaining - allowed }
            return (state.afterID, allowed)
        }
        guard allowed > 0 else { return [] }
        var entries: [Entry] = []
        defer {
            state.withLock { state in
                state.afterID = max(state.afterID, entries.last?.id ?? 0)
                if let remaining = state.remaining { state.remaining = remaining + allowed - entries.count }
            }
        }
        entries = try Journal.claim(ClaimFilter(id: entryID, force: force, afterID: afterID), limit: allowed, owner: owner,
                                    leaseDuration: leaseDuration, now: now, in: db)
        return entries
    }
}

/// A replay worker's next entry, claimed in the transaction that records the outcome of its
/// current one: one commit per replayed entry, where a claim of its own made two.
///
/// The worker still waits for its entry's outcome to be recorded before it sends the next, so at a
/// crash at most one entry per worker was sent and not recorded — the same as before.
package final class NextClaim: Sendable {
    /// What the claim found, once the transaction that made it committed.
    package enum Outcome: Sendable {
        /// This entry, leased to the worker.
        case claimed(Entry)
        /// Nothing due past the drain's cursor (or the drain's limit reached).
        case nothingDue
    }

    private struct State {
        /// Whether the transaction under way made the claim.
        var isClaiming = false
        /// How many entries it took there, not yet known to have committed.
        var taken = 0
        var outcome: Outcome?
    }

    private let cursor: DrainCursor
    private let owner: String
    private let leaseDuration: Duration
    private let state = LockedValue(State())

    /// A claim of one entry past `cursor`, leased to `owner`.
    package init(cursor: DrainCursor, owner: String, leaseDuration: Duration) {
        self.cursor = cursor
        self.owner = owner
        self.leaseDuration = leaseDuration
    }

    /// Claims in the caller's transaction, which records `attempt`: only after a final outcome (one
    /// that moves the entry) that is not an outage — after one, the replayer looks at the host again
    /// before it sends more.
    func claim(after attempt: NewAttempt, isFinal: Bool, now: Date, in db: Database) throws -> Entry? {
        guard isFinal, !ReplayEngine.isOutage(status: attempt.status, transportError: attempt.transportError) else { return nil }
        state.withLock { $0.isClaiming = true }
        let entry = try cursor.claim(1, owner: owner, leaseDuration: leaseDuration, now: now, in: db).first
        state.withLock { $0.taken += entry == nil ? 0 : 1 }
        return entry
    }

    /// Called once the recording transaction committed.
    func settle(_ entry: Entry?) {
        state.withLock { state in
            guard state.isClaiming else { return }
            state = State(outcome: entry.map(Outcome.claimed) ?? .nothingDue)
        }
    }

    /// Called when the recording transaction failed: what the claim took goes back to the limit
    /// (the record may be tried again, and claim again).
    func rollBack() {
        cursor.returnTaken(state.withLock { state in
            defer { state = State(outcome: state.outcome) }
            return state.taken
        })
    }

    /// What the claim found; nil when it was not made (the outcome was not final, or was an outage).
    package var outcome: Outcome? { state.withLock { $0.outcome } }
}
