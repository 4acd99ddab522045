import CoreMetrics
import Foundation

/// The metrics the journal, the client and the replay engine report through swift-metrics.
///
/// Labels are bounded: an endpoint is the folded key (`POST /v1/simulations/{id}`), never a raw
/// path or an id, and after ``maximumEndpointLabels`` distinct endpoints the rest count as `other`;
/// a status is an HTTP status code or a transport failure's kind. With a Prometheus factory
/// (`picus-journal replay --watch --metrics HOST:PORT`) the names below are the exported names;
/// timers are histograms in seconds.
///
/// | name | kind | labels | what |
/// |---|---|---|---|
/// | `picus_journal_attempts_total` | counter | `endpoint`, `outcome`, `status` | attempts sent, by outcome (`success`, `retryable`, `permanent`, `refresh`) and status (`503`, or a transport failure: `timeout`, `offline`, …) |
/// | `picus_journal_attempt_duration_seconds` | timer | `endpoint`, `outcome` | one attempt, connect to last byte |
/// | `picus_journal_token_exchanges_total` | counter | `status` | access-token exchanges (`POST /v1/auth/token`), by status or transport failure |
/// | `picus_journal_token_exchange_duration_seconds` | timer | — | one token exchange |
/// | `picus_journal_write_duration_seconds` | timer | `operation` | a journal commit: `insert` (the write-ahead), `record` (an outcome), `claim` |
/// | `picus_journal_replay_lag_seconds` | timer | — | from an entry's due time to its claim by a replayer |
/// | `picus_journal_queue_depth` | gauge | `state` | entries `pending`, `queued` and `inFlight` |
/// | `picus_journal_oldest_due_age_seconds` | gauge | — | how long the oldest due entry has waited past its due time; 0 when none |
/// | `picus_journal_active_holds` | gauge | — | endpoints (and the host, `*`) held back by a 429 or outages |
public struct JournalMetrics: Sendable {
    /// The metric names, as exported.
    public enum Name {
        /// Counter: attempts sent.
        public static let attempts = "picus_journal_attempts_total"
        /// Timer: one attempt's duration.
        public static let attemptDuration = "picus_journal_attempt_duration_seconds"
        /// Counter: access-token exchanges.
        public static let tokenExchanges = "picus_journal_token_exchanges_total"
        /// Timer: one access-token exchange.
        public static let tokenExchangeDuration = "picus_journal_token_exchange_duration_seconds"
        /// Timer: one journal commit.
        public static let writeDuration = "picus_journal_write_duration_seconds"
        /// Timer: an entry's lateness when a replayer claims it.
        public static let replayLag = "picus_journal_replay_lag_seconds"
        /// Gauge: entries by state.
        public static let queueDepth = "picus_journal_queue_depth"
        /// Gauge: the oldest due entry's wait past its due time.
        public static let oldestDueAge = "picus_journal_oldest_due_age_seconds"
        /// Gauge: holds in force.
        public static let activeHolds = "picus_journal_active_holds"
    }

    /// The journal commits ``Name/writeDuration`` measures.
    public enum WriteOperation: String, Sendable {
        /// The write-ahead row, committed before the request leaves.
        case insert
        /// An attempt's outcome.
        case record
        /// A replayer's claim of due entries.
        case claim
    }

    /// Histogram buckets that fit each timer, for a backend that takes them (Prometheus's
    /// `durationHistogramBuckets`): journal commits from 0.1 ms, attempts up to a minute, replay lag up to a day.
    public static let histogramBuckets: [String: [Duration]] = [
        Name.writeDuration: [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
                             .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                             .milliseconds(250), .seconds(1), .seconds(5)],
        Name.attemptDuration: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                               .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
                               .seconds(30), .seconds(60)],
        Name.tokenExchangeDuration: [.milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                     .milliseconds(500), .seconds(1), .seconds(5), .seconds(30)],
        Name.replayLag: [.milliseconds(100), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900),
                         .seconds(3600), .seconds(4 * 3600), .seconds(86_400)],
    ]

    /// At most this many distinct endpoint labels per ``JournalMetrics`` (``system`` is one for the process); the rest are reported as `other`.
    public static let maximumEndpointLabels = 100

    private enum Source: Sendable {
        case system, factory(any MetricsFactory), disabled
    }

    private let source: Source
    /// The endpoint labels this instance has reported: at most ``maximumEndpointLabels``.
    private let seenEndpoints = LockedValue<Set<String>>([])

    /// Where the metrics go now; nil reports nothing.
    private var factory: (any MetricsFactory)? {
        switch source {
        case .system: MetricsSystem.factory
        case .factory(let factory): factory
        case .disabled: nil
        }
    }

    /// Metrics through `factory`.
    public init(factory: any MetricsFactory) {
        source = .factory(factory)
    }

    /// Metrics through whatever `MetricsSystem` is bootstrapped with when they are reported: the default.
    public static let system = JournalMetrics(source: .system)

    /// No metrics at all.
    public static let disabled = JournalMetrics(source: .disabled)

    private init(source: Source) {
        self.source = source
    }

    /// One attempt and its duration.
    func attempt(endpoint: String, outcome: Attempt.Outcome, status: Int?, transportError: TransportError.Kind?, duration: Duration) {
        guard let factory else { return }
        let endpoint = label(forEndpoint: endpoint)
        let status = status.map(String.init) ?? transportError?.rawValue ?? "none"
        Counter(label: Name.attempts, dimensions: [("endpoint", endpoint), ("outcome", outcome.rawValue), ("status", status)],
                factory: factory).increment()
        CoreMetrics.Timer(label: Name.attemptDuration, dimensions: [("endpoint", endpoint), ("outcome", outcome.rawValue)], factory: factory)
            .recordDuration(duration)
    }

    /// One token exchange and its duration.
    func tokenExchange(status: Int?, transportError: TransportError.Kind?, duration: Duration) {
        guard let factory else { return }
        let status = status.map(String.init) ?? transportError?.rawValue ?? "none"
        Counter(label: Name.tokenExchanges, dimensions: [("status", status)], factory: factory).increment()
        CoreMetrics.Timer(label: Name.tokenExchangeDuration, dimensions: [], factory: factory).recordDuration(duration)
    }

    /// One journal commit.
    func write(_ operation: WriteOperation, duration: Duration) {
        guard let factory else { return }
        CoreMetrics.Timer(label: Name.writeDuration, dimensions: [("operation", operation.rawValue)], factory: factory).recordDuration(duration)
    }

    /// Times a journal commit.
    func timing<T>(_ operation: WriteOperation, _ body: () async throws -> T) async rethrows -> T {
        if case .disabled = source { return try await body() }
        let clock = ContinuousClock()
        let start = clock.now
        defer { write(operation, duration: clock.now - start) }
        return try await body()
    }

    /// An entry's lateness at its claim.
    func replayLag(_ lag: TimeInterval) {
        guard let factory else { return }
        CoreMetrics.Timer(label: Name.replayLag, dimensions: [], factory: factory).recordSeconds(max(0, lag))
    }

    /// Sets the gauges from a snapshot of the journal.
    public func record(_ snapshot: QueueSnapshot) {
        guard let factory else { return }
        for state in QueueSnapshot.reportedStates {
            Gauge(label: Name.queueDepth, dimensions: [("state", state.rawValue)], factory: factory)
                .record(snapshot.depth[state, default: 0])
        }
        Gauge(label: Name.oldestDueAge, dimensions: [], factory: factory).record(snapshot.oldestDueAge)
        Gauge(label: Name.activeHolds, dimensions: [], factory: factory).record(snapshot.activeHolds)
    }

    /// The endpoint's label: itself while fewer than ``maximumEndpointLabels`` were seen, else `other`.
    package func label(forEndpoint endpoint: String) -> String {
        seenEndpoints.withLock { seen in
            if seen.contains(endpoint) { return endpoint }
            guard seen.count < Self.maximumEndpointLabels else { return "other" }
            seen.insert(endpoint)
            return endpoint
        }
    }

}

/// The journal's queue at one moment: what the gauges report.
public struct QueueSnapshot: Sendable, Equatable {
    /// The states whose depth is reported.
    public static let reportedStates: [EntryState] = [.pending, .queued, .inFlight]
    /// Entries per state, for ``reportedStates``.
    public var depth: [EntryState: Int]
    /// Seconds the oldest due entry has waited past its due time; 0 when none is due.
    public var oldestDueAge: Double
    /// Holds in force.
    public var activeHolds: Int
}

extension CoreMetrics.Timer {
    fileprivate func recordDuration(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
