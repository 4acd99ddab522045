import Foundation
import Logging
import ServiceLifecycle

/// Turns queued entries into delivered requests, on the server's schedule, across processes and crashes.
///
/// The engine claims due entries with a lease in one `UPDATE … RETURNING` statement, so several
/// engines — in one process or many — never take the same entry. Each claimed entry is replayed
/// through the ``JournaledClient`` with a fresh access token and its own `Idempotency-Key`, and
/// ends `succeeded`, `failed`, `expired` or back in the queue. A 429 holds back its whole
/// endpoint until the server's reset; consecutive outages (503, transport failures) back the
/// whole host off. An entry left in flight by a process that died on this host is taken back at
/// once (its liveness lock is free); one whose sender cannot be tested, once its lease runs out; a
/// live sender's entry, never. A `succeeded` entry is never sent again.
///
/// ```swift
/// let engine = ReplayEngine(client: client)
/// let summary = try await engine.drain()          // everything due now
/// let task = Task { try await engine.run() }      // or keep replaying until cancelled
/// ```
public actor ReplayEngine {

    /// The client every replay goes through.
    public let client: JournaledClient
    /// How the engine behaves.
    public let configuration: Configuration
    /// What the workers note about every entry, without a hop onto the engine: the outages in a
    /// row, and when the engine last showed progress.
    private let progress = LockedValue(Progress())
    /// Whether ``run(onReplay:)`` is running, and since when it last showed progress.
    private var isRunning = false
    /// Why the journal cannot be written now (a full disk, a lock held too long), while it cannot.
    private var journalProblem: String?
    private var lastGaugesAt: ContinuousClock.Instant?
    /// Who listens to ``outcomes()``: each listener's continuation, by its key.
    nonisolated let listeners = LockedValue<[UUID: AsyncStream<Summary.Item>.Continuation]>([:])

    /// Creates an engine that replays the client's journal through the client.
    public init(client: JournaledClient, configuration: Configuration = Configuration()) {
        self.client = client
        self.configuration = configuration
        leaseDuration = configuration.leases.duration ?? client.configuration.leases.duration
    }

    /// Sends the claimed entries: the client's own, the one dispatcher of the send path.
    private nonisolated var dispatcher: Dispatcher { client.dispatcher }
    private nonisolated var journal: Journal { dispatcher.journal }
    /// This engine's lease duration, for its claims and their renewals.
    private let leaseDuration: Duration
    private nonisolated var clock: JournalClock { journal.clock }

    /// The entries a drain with these options would send now, without sending them.
    public func plan(_ options: DrainOptions = DrainOptions()) async throws -> [Entry] {
        try await journal.dueEntries(
            ClaimFilter(id: options.entryID, force: options.force),
            limit: options.limit, now: clock.now())
    }

    /// Replays everything due now — once each — and returns what happened.
    ///
    /// Entries re-queued during the drain wait for their next time; they are not retried in the
    /// same drain, even with `force`.
    ///
    /// - Parameters:
    ///   - options: Which entries, how many, whether to force.
    ///   - onReplay: Called with each replayed entry as soon as it is recorded.
    /// - Throws: ``JournalError`` when the journal cannot be read or written.
    public func drain(
        _ options: DrainOptions = DrainOptions(), onReplay: @escaping @Sendable (Summary.Item) -> Void = { _ in }
    ) async throws -> Summary {
        var summary = Summary()
        let now = clock.now()
        summary.recovered = try await journal.recoverAbandoned(
            now: now, replay: configuration.leases.replaysAbandonedEntries)
        summary.expiredUnsent = try await journal.expireStale(olderThan: dispatcher.configuration.retryPolicy.maximumAge, now: now)
        let workers = max(1, min(configuration.limits.concurrency, options.limit ?? Int.max))
        let pass = DrainPass(cursor: DrainCursor(limit: options.limit, force: options.force), batchSize: workers,
                             metrics: dispatcher.configuration.observability.metrics) { [listeners] item in
            onReplay(item)
            for listener in listeners.withLock({ Array($0.values) }) { listener.yield(item) }
        }
        // Each worker runs in a task of its own, which the drain's cancellation does not reach: a
        // request under way goes out whole and is recorded; the worker then stops.
        let stop = LockedValue(false)
        do {
            try await withTaskCancellationHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<workers {
                        group.addTask {
                            do {
                                try await Task { try await self.work(options, pass: pass, stop: stop) }.value
                            } catch {
                                // One worker failed: the others stop after the entry they are sending.
                                stop.withLock { $0 = true }
                                throw error
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            } onCancel: {
                stop.withLock { $0 = true }
            }
        } catch {
            // Claimed but never sent: back to the queue, or they would stay leased to this live process.
            try? await journal.release(await pass.takeUnsent())
            throw error
        }
        try await journal.release(await pass.takeUnsent())
        summary.items = pass.items
        if let hold = try await journal.holds().first(where: { $0.key == "*" }) {
            summary.hostBackedOffUntil = hold.until
        }
        return summary
    }

    /// Replays until the task is cancelled: wakes when the next entry falls due, when a lease
    /// runs out, and when another process writes new work. Stops cleanly on cancellation: the
    /// requests under way finish and are recorded.
    ///
    /// ``run()`` is the same as a `Service`, stopping on graceful shutdown too.
    ///
    /// - Parameter onReplay: Called with each replayed entry, as it finishes.
    public func run(onReplay: @escaping @Sendable (Summary.Item) -> Void) async throws {
        var isFirstPass = true
        isRunning = true
        defer { isRunning = false }
        do {
            while !Task.isCancelled {
                // What it would replay from now is a file nobody else sees: stop, and say so.
                if journal.isReplaced { throw Self.replacedJournal(journal.path) }
                noteProgress()
                await reportGaugesIfDue()
                do {
                    let next = try await journal.nextWakeDate()
                    // Drain when something is due (and once at start, to take back abandoned leases);
                    // otherwise sleep until it is, looking in at the poll interval for other processes' work.
                    var soonest = next ?? .distantFuture
                    if isFirstPass || soonest <= clock.now() {
                        isFirstPass = false
                        let summary = try await drain(onReplay: onReplay)
                        journalProblem = nil
                        if summary.replayed > 0 { continue }
                        // Due, yet nothing could be sent (its endpoint's budget is taken by requests in
                        // flight, another replayer's perhaps): look again at the poll interval, not at once.
                        if soonest <= clock.now() { soonest = .distantFuture }
                    }
                    let wait = min(configuration.pollInterval.timeInterval, max(0.01, soonest.timeIntervalSince(clock.now())))
                    try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                } catch let error as JournalError where error.code == .busy || error.code == .diskFull {
                    // Another process held the journal too long, or the disk is full: passing, so look
                    // again at the next poll — unhealthy meanwhile.
                    journalProblem = error.description
                    configuration.observability.logger.info("journal not writable; looking again at the next poll",
                                              metadata: ["picus.journal.path": "\(journal.path)", "picus.reason": "\(error.code)"])
                    try await Task.sleep(for: configuration.pollInterval)
                }
            }
        } catch is CancellationError {
            return
        }
    }


    /// Probes the engine: healthy while ``run()`` runs, its loop or an entry made progress within
    /// ``Configuration/Observability/stallLimit``, the last write reached the journal, and the journal reads now.
    /// Reports the queue gauges as it goes.
    public func health(now: Date? = nil) async -> Health {
        let now = now ?? clock.now()
        let lastProgressAt = progress.withLock { $0.lastAt }
        var health = Health(isHealthy: false, lastProgressAt: lastProgressAt)
        do {
            let queue = try await journal.queueSnapshot(now: now)
            dispatcher.configuration.observability.metrics.record(queue)
            health.queue = queue
        } catch {
            health.reason = "the journal cannot be read: \(error)"
            return health
        }
        if journal.isReplaced {
            health.reason = Self.replacedJournal(journal.path).description
        } else if !isRunning {
            health.reason = "the replayer is not running"
        } else if let journalProblem {
            health.reason = journalProblem
        } else if let last = lastProgressAt, now.timeIntervalSince(last) > configuration.observability.stallLimit.timeInterval {
            health.reason = "the replayer has made no progress for \(Int(now.timeIntervalSince(last))) s"
        } else {
            health.isHealthy = true
        }
        return health
    }

    private static func replacedJournal(_ path: String) -> JournalError {
        JournalError(.cannotOpen, "journal \(path) was replaced or removed while the replayer ran; restart it to replay the file now at that path", path: path)
    }

    private nonisolated func noteProgress() {
        progress.withLock { $0.lastAt = clock.now() }
    }

    /// Reports the queue gauges once per ``Configuration/Observability/gaugeInterval``.
    private func reportGaugesIfDue() async {
        let now = ContinuousClock.now
        if let last = lastGaugesAt, now - last < configuration.observability.gaugeInterval { return }
        lastGaugesAt = now
        if let queue = try? await journal.queueSnapshot() { dispatcher.configuration.observability.metrics.record(queue) }
    }

    /// One worker: replay an entry, then the next, until nothing is due or the pass is done.
    ///
    /// A worker waits for its entry's outcome to be recorded before it sends the next: at a crash, at
    /// most one entry per worker can have been sent and not recorded. Its next entry is claimed in
    /// the transaction that records the outcome, and the outcomes of several workers share a commit:
    /// one commit per entry or fewer. The first entries, and the next after an outage, come from a
    /// claim of the pass, one statement for as many workers as wait.
    private nonisolated func work(_ options: DrainOptions, pass: DrainPass, stop: LockedValue<Bool>) async throws {
        var carried: Entry?
        do {
            while !stop.withLock({ $0 }) {
                var taken = carried
                carried = nil
                if taken == nil {
                    taken = try await pass.claimNext(options, journal: journal, owner: dispatcher.makeLease(), leaseDuration: leaseDuration)
                }
                guard let entry = taken else { return }
                let next = options.entryID == nil
                    ? NextClaim(cursor: pass.cursor, owner: try dispatcher.makeLease(), leaseDuration: leaseDuration) : nil
                let delivery = try await replay(entry, claimingNext: next)
                pass.append(Summary.Item(entry: delivery.entry, summary: delivery.summary))
                noteProgress()
                if case .claimed(let entry) = next?.outcome {
                    carried = entry
                    dispatcher.configuration.observability.metrics.replayLag(clock.now().timeIntervalSince(entry.dueAt ?? entry.createdAt))
                }
                try await noteOutcome(delivery)
                if Self.isOutage(delivery) {
                    // What the pass claimed ahead goes back, so that a host backoff holds it too.
                    let unsent = await pass.takeUnsent()
                    do {
                        try await journal.release(unsent)
                    } catch {
                        await pass.putBack(unsent)
                        throw error
                    }
                }
                // Nothing more was due when this outcome was recorded: the pass is over for this worker.
                if case .nothingDue = next?.outcome { return }
            }
        } catch {
            if let carried { try? await journal.release([carried]) }
            throw error
        }
        // Cancelled with an entry claimed and not sent: it waits again as it did.
        if let carried { try await journal.release([carried]) }
    }

    private nonisolated func replay(_ entry: Entry, claimingNext next: NextClaim?) async throws -> Delivery {
        // The entry was written as replayable; a replayer whose own policy says otherwise ends it unsent.
        guard dispatcher.configuration.retryPolicy.isReplayable(method: entry.method, path: entry.path) else {
            return try await dispatcher.decline(entry, claimingNext: next, leaseDuration: leaseDuration)
        }
        var headers = entry.requestHeaders
        for name in ["authorization", "idempotency-key"] { headers[name] = nil }
        return try await dispatcher.deliver(entry, headers: headers, body: entry.requestBody, caller: nil, claimingNext: next,
                                            leaseDuration: leaseDuration)
    }


    private static func isOutage(_ delivery: Delivery) -> Bool {
        StatusCode.isOutage(status: delivery.response?.status, transportError: delivery.transportError)
    }

    /// Counts consecutive outages and backs the host off after too many.
    private nonisolated func noteOutcome(_ delivery: Delivery) async throws {
        let isOutage = Self.isOutage(delivery)
        let outages = progress.withLock { progress in
            progress.consecutiveOutages = isOutage ? progress.consecutiveOutages + 1 : 0
            return progress.consecutiveOutages
        }
        guard isOutage, outages >= configuration.limits.outagesBeforeHostBackoff else { return }
        let now = clock.now()
        let policy = dispatcher.configuration.retryPolicy
        let backoff = policy.backoff(afterAttempt: outages - configuration.limits.outagesBeforeHostBackoff + 1,
                                     random: Double.random(in: 0.5..<1))
        var until = now.addingTimeInterval(backoff.timeInterval)
        if let server = delivery.entry.notBefore, server > until { until = server }
        configuration.observability.logger.info("host backed off", metadata: ["picus.replay.outages": "\(outages)", "picus.replay.until": "\(ISO8601.string(from: until))"])
        try await journal.hold("*", until: until, reason: "\(outages) consecutive outages", now: now)
    }

    /// What the workers note as entries finish.
    private struct Progress {
        var consecutiveOutages = 0
        var lastAt: Date?
    }
}

extension ReplayEngine: Service {
    /// Replays as entries fall due until graceful shutdown (or cancellation): then it claims nothing
    /// more, lets the requests under way finish and be recorded, and returns.
    ///
    /// ```swift
    /// let group = ServiceGroup(services: [ReplayEngine(client: client), httpServer],
    ///                          gracefulShutdownSignals: [.sigterm], logger: logger)
    /// try await group.run()
    /// ```
    public nonisolated func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.run(onReplay: { _ in })
        }
    }
}

