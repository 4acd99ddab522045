import Foundation
import GRDB

extension Journal {
    /// What a prune deleted (or, in a dry run, would delete).
    public struct PruneResult: Sendable {
        /// Entries deleted, by state.
        public var deleted: [EntryState: Int] = [:]

        /// Entries deleted in all.
        public var total: Int { deleted.values.reduce(0, +) }
    }

    /// Deletes entries that finished longer ago than the policy keeps them, with their attempts.
    ///
    /// Entries waiting or in flight are never deleted: a queued entry goes only once the replay
    /// engine has expired it (the retry policy's maximum age), and then after `policy.expired`.
    /// Deletes run in batches, each its own short transaction, so writers are never held up for long.
    ///
    /// - Parameters:
    ///   - policy: How long each state is kept.
    ///   - dryRun: Count, delete nothing.
    ///   - batchSize: Entries per transaction.
    ///   - now: The clock.
    public func prune(
        _ policy: RetentionPolicy = RetentionPolicy(), dryRun: Bool = false, batchSize: Int = 1000, now: Date? = nil
    ) async throws -> PruneResult {
        let now = now ?? clock.now()
        var result = PruneResult()
        for (state, age) in policy.ages {
            let count = try await prune(states: [state], olderThan: now.addingTimeInterval(-age.timeInterval), dryRun: dryRun,
                                        batchSize: batchSize)
            if count > 0 { result.deleted[state] = count }
        }
        return result
    }

    /// Deletes entries in `states` that last changed (finished) before `cutoff`, with their attempts.
    ///
    /// - Throws: ``JournalError`` `invalidTransition` for a state that is waiting or in flight.
    /// - Returns: How many entries were deleted (or would be, in a dry run).
    public func prune(states: Set<EntryState>, olderThan cutoff: Date, dryRun: Bool = false, batchSize: Int = 1000) async throws -> Int {
        if let waiting = states.first(where: { !RetentionPolicy.prunableStates.contains($0) }) {
            throw JournalError(.invalidTransition, "\(waiting.rawValue) entries are never pruned: they have not finished; cancel them first")
        }
        guard !states.isEmpty else { return 0 }
        let stateList = states.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        // Never later than now: entries finishing while the prune runs are not what was asked for.
        let cutoffMs = min(cutoff, clock.now()).unixMilliseconds
        let batchSize = max(1, batchSize)
        if dryRun {
            return try await read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entry WHERE state IN (\(stateList)) AND updatedAt < ?", arguments: [cutoffMs]) ?? 0
            }
        }
        var total = 0
        while true {
            let deleted = try await write("prune") { db in
                try db.execute(sql: """
                    DELETE FROM entry WHERE id IN (
                        SELECT id FROM entry WHERE state IN (\(stateList)) AND updatedAt < ? LIMIT ?)
                    """, arguments: [cutoffMs, batchSize])
                return db.changesCount
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }
}
