import Foundation
import GRDB

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
        guard isFinal, !StatusCode.isOutage(status: attempt.status, transportError: attempt.transportError) else { return nil }
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
