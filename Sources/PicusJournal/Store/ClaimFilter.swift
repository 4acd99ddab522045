import Foundation

/// Which entries a replay may take.
package struct ClaimFilter: Sendable {
    /// Only this entry.
    package var id: Int64?
    /// Ignore `nextAttemptAt` (never a live lease, a final state, or the server's `notBefore`).
    package var force = false
    /// Only entries with a larger id: one pass over the journal per drain.
    package var afterID: Int64 = 0

    package init(id: Int64? = nil, force: Bool = false, afterID: Int64 = 0) {
        self.id = id
        self.force = force
        self.afterID = afterID
    }
}
