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
