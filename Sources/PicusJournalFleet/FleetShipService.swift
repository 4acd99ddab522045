import Foundation
import Logging
import PicusJournal
import ServiceLifecycle

/// `picus-journal ship --watch` as a `Service`: keeps a fleet store up to date with a journal.
///
/// It ships what changed, then looks at the journal's change clock every `pollInterval` and ships
/// again when it moved. While PostgreSQL is unreachable it logs one line, backs off (1 s, doubling,
/// up to `maximumBackoff`) and tries again; nothing is lost meanwhile, because what is shipped is
/// read from the journal, which keeps it. A connection that goes quiet counts as unreachable once a
/// step misses its deadline (``configuration``). The journal's writers never wait for it: it reads
/// from WAL snapshots. A failure that retrying cannot fix — a wrong password, a newer schema —
/// ends `run()` with that error. Graceful shutdown or cancellation ends it at once, wherever it is
/// (mid-batch, or waiting on a dead connection): the batch in flight is not committed and ships next time.
///
/// ```swift
/// let ship = FleetShipService(journal: journal, to: try FleetLocation("postgres://picus@db/fleet"), as: "site-a")
/// let group = ServiceGroup(services: [replayEngine, ship], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct FleetShipService: Service {
    /// What happened, for the caller to report.
    public enum Event: Sendable {
        /// A batch was committed; the totals since `run()` started.
        case shipped(ShipResult)
        /// The store could not be reached or failed; the next try is after `retryIn`.
        case unavailable(FleetError, retryIn: Duration)
        /// The store is reachable and migrated: for the first time, or `again` after it was not.
        case connected(again: Bool)
    }

    private let journal: Journal
    private let location: FleetLocation
    private let agent: String
    private let environment: [String: String]
    private let logger: Logger
    private let onEvent: @Sendable (Event) -> Void

    /// How often the journal's change clock is looked at while nothing changes.
    public var pollInterval: Duration = .seconds(1)
    /// The longest wait between tries while the store is unreachable.
    public var maximumBackoff: Duration = .seconds(30)
    /// Entries per batch.
    public var batchSize = FleetStore.defaultBatchSize
    /// How long to wait for PostgreSQL at each step.
    public var configuration = FleetStore.Configuration()

    /// Ships `journal` to the store at `location` under `agent`.
    public init(journal: Journal, to location: FleetLocation, as agent: String,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                logger: Logger = Logger(label: "picus.fleet"), onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.journal = journal
        self.location = location
        self.agent = agent
        self.environment = environment
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Ships until cancelled or shut down gracefully.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                try await ship()
            } catch where Task.isCancelled {
                // Shut down or cancelled: what was committed stays committed; the rest ships next time.
            }
        }
    }

    private func ship() async throws {
        var store: FleetStore?
        var backoff = Duration.seconds(1)
        var totals = ShipResult()
        var shippedClock: Int64 = -1
        var everConnected = false
        while true {
            do {
                try Task.checkCancellation()
                if store == nil {
                    let connected = try await FleetStore.connect(
                        to: location, configuration: configuration, environment: environment, logger: logger)
                    store = connected
                    try await connected.migrate()
                    onEvent(.connected(again: everConnected))
                    everConnected = true
                    logger.info("shipping to the fleet store", metadata: ["store": "\(location)", "agent": "\(agent)"])
                }
                guard let store else { continue }
                let clock = try await journal.changeClock()
                if clock != shippedClock {
                    let before = totals
                    let result = try await store.ship(journal, as: agent, batchSize: batchSize) { progress in
                        var running = before
                        running.entries += progress.entries
                        running.unchanged += progress.unchanged
                        running.attempts += progress.attempts
                        running.clock = progress.clock
                        onEvent(.shipped(running))
                    }
                    totals.entries += result.entries
                    totals.unchanged += result.unchanged
                    totals.attempts += result.attempts
                    totals.clock = result.clock
                    shippedClock = clock
                }
                backoff = .seconds(1)
                try await Task.sleep(for: pollInterval)
            } catch let error as FleetError where error.isTransient && !Task.isCancelled {
                if let failed = store {
                    store = nil
                    await failed.close()
                }
                logger.warning("the fleet store is unavailable; retrying", metadata: [
                    "error": "\(error)", "retryIn": "\(backoff)",
                ])
                onEvent(.unavailable(error, retryIn: backoff))
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, maximumBackoff)
            } catch {
                // Shut down, or a failure retrying cannot fix: the connection closes before the error leaves.
                if let store { await store.close() }
                throw error
            }
        }
    }
}
