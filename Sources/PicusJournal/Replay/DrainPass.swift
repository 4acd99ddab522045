import Foundation
import Logging
import ServiceLifecycle

/// The shared state of one drain's workers: the cursor and limit all its claims share, the entries
/// claimed by the pass and not yet taken, and what was replayed.
actor DrainPass {
    /// Where the drain is in the journal, and how many entries it may still take.
    nonisolated let cursor: DrainCursor
    /// What was replayed, in the order it finished; appended by the workers without a hop.
    private nonisolated let replayed = LockedValue<[ReplayEngine.Summary.Item]>([])
    private var isClaiming = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private nonisolated let onReplay: @Sendable (ReplayEngine.Summary.Item) -> Void
    private let metrics: JournalMetrics
    /// How many entries one claim of the pass takes: one per worker.
    private let batchSize: Int
    /// Entries claimed by one statement and not yet taken by a worker.
    private var claimed: [Entry] = []
    /// Whether the drain's first claim was made.
    private var hasClaimed = false

    init(cursor: DrainCursor, batchSize: Int, metrics: JournalMetrics, onReplay: @escaping @Sendable (ReplayEngine.Summary.Item) -> Void) {
        self.cursor = cursor
        self.batchSize = batchSize
        self.metrics = metrics
        self.onReplay = onReplay
    }

    /// The entries the pass claimed and no worker took: the drain gives them back.
    func takeUnsent() -> [Entry] {
        defer { claimed = [] }
        return claimed
    }

    /// Entries that could not be given back: still the pass's, for the drain's last attempt.
    func putBack(_ entries: [Entry]) {
        claimed = entries + claimed
    }

    /// The next due entry past the cursor: one the pass claimed before, or the first of a new claim.
    /// The drain's first claim takes one entry per worker in one statement; later ones — after an
    /// outage, when a worker claimed nothing with its outcome — take one per worker waiting, since
    /// the others carry their next entries already and an entry claimed for nobody would sit leased
    /// with nobody renewing it. Claims of the pass are taken one at a time.
    func claimNext(
        _ options: ReplayEngine.DrainOptions, journal: Journal, owner: String, leaseDuration: Duration
    ) async throws -> Entry? {
        while isClaiming {
            await withCheckedContinuation { waiters.append($0) }
        }
        isClaiming = true
        defer {
            isClaiming = false
            if !waiters.isEmpty { waiters.removeFirst().resume() }
        }
        if claimed.isEmpty, !cursor.isSpent {
            let now = journal.clock.now()
            let batchSize = hasClaimed ? min(batchSize, 1 + waiters.count) : batchSize
            hasClaimed = true
            let cursor = self.cursor
            claimed = try await metrics.timing(.claim) {
                try await journal.write("replay from", inline: false) { db in
                    try cursor.claim(batchSize, entryID: options.entryID, owner: owner, leaseDuration: leaseDuration, now: now, in: db)
                }
            }
            for entry in claimed { metrics.replayLag(now.timeIntervalSince(entry.dueAt ?? entry.createdAt)) }
        }
        return claimed.isEmpty ? nil : claimed.removeFirst()
    }

    nonisolated var items: [ReplayEngine.Summary.Item] { replayed.withLock { $0 } }

    /// Notes a replayed entry and tells the caller, one entry at a time.
    nonisolated func append(_ item: ReplayEngine.Summary.Item) {
        replayed.withLock { items in
            items.append(item)
            onReplay(item)
        }
    }
}
