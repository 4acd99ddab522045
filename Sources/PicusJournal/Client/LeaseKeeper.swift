import Foundation
import Logging

/// Keeps a sender's lease alive while its attempt is in flight and while its outcome is recorded:
/// a live sender's lease never lapses, however short the lease or slow the server.
///
/// It renews every third of the lease. A renewal that fails for a passing reason (the journal is
/// locked, the disk full) is tried again at the next tick; a renewal the journal refuses means
/// another sender holds the entry now, and the lease is lost.
package final class LeaseKeeper: @unchecked Sendable {
    // `lost` and `confirmedUntil` are read and written under `lock`; `task` is set once in init.
    private let lock = NSLock()
    private var lost = false
    private var confirmedUntil: Date
    private var task: Task<Void, Never>?

    /// The lease token.
    package let lease: String

    /// Starts keeping `lease` on `entryID`, confirmed until `until`.
    package init(journal: Journal, entryID: Int64, lease: String, duration: Duration, confirmedUntil until: Date,
                 logger: Logger) {
        self.lease = lease
        self.confirmedUntil = until
        let interval = max(duration / 3, .milliseconds(50))
        // Weak: a keeper never keeps a journal open (and its WAL un-checkpointed) past its sender.
        task = Task { [weak self, weak journal] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let journal else { return }
                let until = Date().addingTimeInterval(duration.timeInterval)
                do {
                    let held = try await journal.renewLease(of: entryID, owner: lease, until: until)
                    guard let self else { return }
                    self.lock.withLock {
                        if held { self.confirmedUntil = until } else { self.lost = true }
                    }
                    if !held { return }
                    logger.trace("lease renewed", metadata: ["picus.entry.id": "\(entryID)"])
                } catch {
                    continue
                }
            }
        }
    }

    /// Stops renewing: the outcome is recorded (or given up).
    package func stop() {
        task?.cancel()
    }

    deinit {
        task?.cancel()
    }

    /// Whether another sender took the entry.
    package var isLost: Bool { lock.withLock { lost } }

    /// Whether the lease is still ours at `now`: not lost, and confirmed past `now`.
    package func isHeld(at now: Date) -> Bool {
        lock.withLock { !lost && confirmedUntil > now }
    }
}
