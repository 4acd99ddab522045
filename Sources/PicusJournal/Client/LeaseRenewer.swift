import Foundation
import Logging

/// Keeps the leases of the entries one dispatcher is sending alive, while each attempt is in flight
/// and while its outcome is recorded: a live sender's lease never lapses, however short the lease or
/// slow the server.
///
/// One task renews every kept lease, every third of the lease, in one write; it runs while there is
/// a lease to keep. A sender's keeper costs a lock, not a task and a timer of its own — which, per
/// request, woke two threads and the timer manager's. A renewal that fails for a passing reason (the
/// journal is locked, the disk full) is tried again at the next tick; a renewal the journal refuses
/// means another sender holds the entry now, and that lease is lost.
package final class LeaseRenewer: Sendable {
    private struct Kept {
        let entryID: Int64
        let lease: String
        var confirmedUntil: Date
        var isLost = false
    }

    private struct State {
        var kept: [Int: Kept] = [:]
        var nextToken = 0
        var isRenewing = false
    }

    private let state = LockedValue(State())
    private let journal: Journal
    private let duration: Duration
    private let logger: Logger

    /// A renewer of leases of `duration` on `journal`'s entries.
    package init(journal: Journal, duration: Duration, logger: Logger) {
        self.journal = journal
        self.duration = duration
        self.logger = logger
    }

    /// Starts keeping `lease` on `entryID`, confirmed until `until`, until the keeper is stopped.
    package func keep(_ lease: String, on entryID: Int64, confirmedUntil until: Date) -> LeaseKeeper {
        let (token, starts) = state.withLock { state in
            let token = state.nextToken
            state.nextToken += 1
            state.kept[token] = Kept(entryID: entryID, lease: lease, confirmedUntil: until)
            defer { state.isRenewing = true }
            return (token, !state.isRenewing)
        }
        if starts { startRenewing() }
        return LeaseKeeper(lease: lease, token: token, renewer: self)
    }

    /// The renewing task: it holds the renewer (and so the journal) only while it renews, never
    /// while it sleeps, and ends at the first tick with no lease to keep. Detached: it serves every
    /// sender, so it takes neither the priority nor the task-locals (trace context) of the first.
    private func startRenewing() {
        let interval = max(duration / 3, .milliseconds(50))
        Task.detached { [weak self] in
            while true {
                try? await Task.sleep(for: interval)
                guard let self, await self.renewAll() else { return }
            }
        }
    }

    /// Renews every kept lease in one write; false, and the renewing ends, when none is kept.
    private func renewAll() async -> Bool {
        let due = state.withLock { state -> [(token: Int, kept: Kept)]? in
            guard !state.kept.isEmpty else {
                state.isRenewing = false
                return nil
            }
            return state.kept.filter { !$0.value.isLost }.map { ($0.key, $0.value) }
        }
        guard let due else { return false }
        guard !due.isEmpty else { return true }
        let until = journal.clock.now().addingTimeInterval(duration.timeInterval)
        guard let held = try? await journal.renewLeases(due.map { ($0.kept.entryID, $0.kept.lease) }, until: until) else {
            return true
        }
        state.withLock { state in
            for (item, isHeld) in zip(due, held) {
                if isHeld { state.kept[item.token]?.confirmedUntil = until } else { state.kept[item.token]?.isLost = true }
            }
        }
        for (item, isHeld) in zip(due, held) where isHeld {
            logger.trace("lease renewed", metadata: ["picus.entry.id": "\(item.kept.entryID)"])
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

/// One sender's lease, kept alive by its dispatcher's ``LeaseRenewer`` until ``stop()``.
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
