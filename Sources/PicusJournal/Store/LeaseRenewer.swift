import Foundation
import Logging

/// Keeps the leases of the entries this process is sending on one journal alive, while each attempt
/// is in flight and while its outcome is recorded: a live sender's lease never lapses, however short
/// the lease or slow the server. There is one per journal and process (``Journal/leaseRenewer``),
/// whatever number of clients and replay engines send on it.
///
/// One task renews every kept lease, every third of the shortest lease kept, in one write per lease
/// duration; it runs while there is a lease to keep. A sender's keeper costs a lock, not a task and a timer of its own — which, per
/// request, woke two threads and the timer manager's. A renewal that fails for a passing reason (the
/// journal is locked, the disk full) is tried again at the next tick; a renewal the journal refuses
/// means another sender holds the entry now, and that lease is lost.
package final class LeaseRenewer: Sendable {
    private struct Kept {
        let entryID: Int64
        let lease: String
        let duration: Duration
        /// The sender's logger, which hears of each renewal.
        let logger: Logger
        var confirmedUntil: Date
        var isLost = false
    }

    private struct State {
        var kept: [Int: Kept] = [:]
        var nextToken = 0
        /// The renewing task in charge, and how long it sleeps between renewals; nil when none runs.
        /// A task whose generation is no longer this one ends when it wakes.
        var renewing: (generation: Int, interval: Duration)?
        var generation = 0

        /// A third of the shortest lease kept: every lease is renewed well before it lapses.
        var interval: Duration {
            max((kept.values.map(\.duration).min() ?? .seconds(30)) / 3, .milliseconds(50))
        }
    }

    private let state = LockedValue(State())

    /// A renewer with nothing to keep yet.
    package init() {}

    /// Starts keeping `lease` on `journal`'s entry `entryID`, confirmed until `until`, renewed for
    /// `duration` at a time, until the keeper is stopped; `logger` hears of each renewal.
    package func keep(
        _ lease: String, on entryID: Int64, confirmedUntil until: Date, duration: Duration, journal: Journal, logger: Logger
    ) -> LeaseKeeper {
        let (token, generation) = state.withLock { state -> (Int, Int?) in
            let token = state.nextToken
            state.nextToken += 1
            state.kept[token] = Kept(entryID: entryID, lease: lease, duration: duration, logger: logger, confirmedUntil: until)
            // A task asleep for longer than this lease allows is replaced, not waited for.
            if let renewing = state.renewing, renewing.interval <= state.interval { return (token, nil) }
            state.generation += 1
            state.renewing = (state.generation, state.interval)
            return (token, state.generation)
        }
        if let generation { startRenewing(journal, generation: generation) }
        return LeaseKeeper(lease: lease, token: token, renewer: self)
    }

    /// How long the task of `generation` sleeps next; nil when another task has taken over.
    private func nextInterval(of generation: Int) -> Duration? {
        state.withLock { state in
            guard state.renewing?.generation == generation else { return nil }
            let interval = state.interval
            state.renewing = (generation, interval)
            return interval
        }
    }

    /// The renewing task: it holds the renewer (and so the journal) only while it renews, never
    /// while it sleeps, and ends at the first tick with no lease to keep. Detached: it serves every
    /// sender, so it takes neither the priority nor the task-locals (trace context) of the first.
    private func startRenewing(_ journal: Journal, generation: Int) {
        Task.detached { [weak self, weak journal] in
            while true {
                guard let interval = self?.nextInterval(of: generation) else { return }
                try? await Task.sleep(for: interval)
                guard let self, let journal, await self.renewAll(on: journal, generation: generation) else { return }
            }
        }
    }

    /// Renews every kept lease in one write per lease duration; false, and the task ends, when none
    /// is kept or another task has taken over.
    private func renewAll(on journal: Journal, generation: Int) async -> Bool {
        let due = state.withLock { state -> [(token: Int, kept: Kept)]? in
            guard state.renewing?.generation == generation else { return nil }
            guard !state.kept.isEmpty else {
                state.renewing = nil
                return nil
            }
            return state.kept.filter { !$0.value.isLost }.map { ($0.key, $0.value) }
        }
        guard let due else { return false }
        guard !due.isEmpty else { return true }
        let now = journal.clock.now()
        for (duration, items) in Dictionary(grouping: due, by: \.kept.duration) {
            let until = now.addingTimeInterval(duration.timeInterval)
            guard let held = try? await journal.renewLeases(items.map { ($0.kept.entryID, $0.kept.lease) }, until: until) else {
                continue
            }
            state.withLock { state in
                for (item, isHeld) in zip(items, held) {
                    if isHeld { state.kept[item.token]?.confirmedUntil = until } else { state.kept[item.token]?.isLost = true }
                }
            }
            for (item, isHeld) in zip(items, held) where isHeld {
                item.kept.logger.trace("lease renewed", metadata: ["picus.entry.id": "\(item.kept.entryID)"])
            }
        }
        return true
    }

    fileprivate func isLost(_ token: Int) -> Bool {
        state.withLock { $0.kept[token]?.isLost ?? false }
    }

    fileprivate func isHeld(_ token: Int, at now: Date) -> Bool {
        state.withLock { state in state.kept[token].map { !$0.isLost && $0.confirmedUntil > now } ?? false }
    }

    fileprivate func withdraw(_ token: Int) {
        state.withLock { _ = $0.kept.removeValue(forKey: token) }
    }
}

/// One sender's lease, kept alive by its journal's ``LeaseRenewer`` until ``stop()``.
package final class LeaseKeeper: Sendable {
    /// The lease token.
    package let lease: String
    private let token: Int
    private let renewer: LeaseRenewer

    fileprivate init(lease: String, token: Int, renewer: LeaseRenewer) {
        self.lease = lease
        self.token = token
        self.renewer = renewer
    }

    /// Stops renewing: the outcome is recorded, or the sender gave up.
    package func stop() {
        renewer.withdraw(token)
    }

    deinit {
        renewer.withdraw(token)
    }

    /// Whether another sender took the entry: a renewal found the lease no longer this sender's.
    package var isLost: Bool { renewer.isLost(token) }

    /// Whether the lease is this sender's and confirmed past `now`.
    package func isHeld(at now: Date) -> Bool {
        renewer.isHeld(token, at: now)
    }
}
