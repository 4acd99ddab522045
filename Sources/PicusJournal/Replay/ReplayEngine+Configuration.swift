import Foundation
import Logging

extension ReplayEngine {
    /// How the engine behaves: how much it sends at once, how it holds and takes back leases, and
    /// where it reports. The time comes from its client's journal's ``Journal/Configuration/clock``;
    /// metrics and spans go where its client's go.
    ///
    /// ```swift
    /// var configuration = ReplayEngine.Configuration()
    /// configuration.limits.concurrency = 8
    /// configuration.observability.logger = Logger(label: "my-agent.replay")
    /// ```
    public struct Configuration: Sendable {
        /// How much the engine sends at once, and when it backs the host off.
        public struct Limits: Sendable {
            /// How many entries are sent at once.
            public var concurrency = 4
            /// After this many consecutive outages (503 or a transport failure) the host is backed off.
            public var outagesBeforeHostBackoff = 3

            /// The default limits.
            public init() {}
        }

        /// How the engine holds the entries it claims and takes back abandoned ones.
        public struct Leases: Sendable {
            /// How long a claimed entry's lease lasts between renewals. Default: the client's.
            public var duration: Duration?
            /// Whether an entry whose sender died mid-request is replayed (true, the default: its
            /// Idempotency-Key lets the server spot a duplicate) or parked as failed for an operator.
            public var replaysAbandonedEntries = true

            /// The default leases.
            public init() {}
        }

        /// Where the engine logs and reports its health.
        public struct Observability: Sendable {
            /// Where the engine logs, at info level at most. Default: a disabled logger — pass your own.
            public var logger = Logger.disabled
            /// How often ``ReplayEngine/run()`` reports the queue gauges (depth, oldest due entry, holds)
            /// to the client's ``JournalMetrics``. ``ReplayEngine/health(now:)`` reports them too, at each probe.
            public var gaugeInterval: Duration = .seconds(10)
            /// ``ReplayEngine/health(now:)`` calls a running engine stalled when its loop has not come round
            /// nor an entry finished for this long: longer than any attempt's timeout and its recording.
            public var stallLimit: Duration = .seconds(180)

            /// The default observability: no logs.
            public init() {}
        }

        /// How much the engine sends at once.
        public var limits = Limits()
        /// How the engine holds and takes back leases.
        public var leases = Leases()
        /// Where the engine logs and reports its health.
        public var observability = Observability()
        /// How often ``ReplayEngine/run()`` looks for work written by other processes.
        public var pollInterval: Duration = .milliseconds(500)

        /// The default configuration.
        public init() {}
    }
}
