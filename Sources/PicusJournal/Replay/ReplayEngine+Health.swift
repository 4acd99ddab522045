import Foundation
import Logging
import ServiceLifecycle

extension ReplayEngine {
    /// What a health probe reports: whether the replayer runs and the journal can be read and written.
    ///
    /// Encodes as the body of `/healthz`:
    /// `{"status":"ok","reason":null,"lastProgressAt":"…","queue":{"pending":0,"queued":3,"inFlight":1},"oldestDueAgeSeconds":0,"activeHolds":0}`,
    /// with `"status":"unhealthy"` and a one-line `reason` otherwise.
    public struct Health: Sendable, Encodable {
        /// True while the engine runs, shows progress, and reads and writes its journal.
        public var isHealthy: Bool
        /// Why it is not healthy, in one line.
        public var reason: String?
        /// The queue at the probe, when the journal could be read.
        public var queue: QueueSnapshot?
        /// When the engine last came round its loop or finished an entry.
        public var lastProgressAt: Date?

        private enum Key: String, CodingKey {
            case status, reason, lastProgressAt, queue, oldestDueAgeSeconds, activeHolds
        }

        /// Encodes the probe as `/healthz` answers it.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(isHealthy ? "ok" : "unhealthy", forKey: .status)
            try container.encode(reason, forKey: .reason)
            try container.encode(lastProgressAt.map { ISO8601.string(from: $0) }, forKey: .lastProgressAt)
            if let queue {
                let depth = Dictionary(uniqueKeysWithValues: QueueSnapshot.reportedStates.map { ($0.rawValue, queue.depth[$0, default: 0]) })
                try container.encode(depth, forKey: .queue)
                try container.encode(queue.oldestDueAge, forKey: .oldestDueAgeSeconds)
                try container.encode(queue.activeHolds, forKey: .activeHolds)
            }
        }
    }
}
