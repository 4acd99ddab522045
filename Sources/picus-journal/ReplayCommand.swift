import ArgumentParser
import Foundation
import Logging
import PicusJournal
import Prometheus
import ServiceLifecycle

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Send the queued entries that are due, each with its own Idempotency-Key.",
        discussion: """
            Prints a line per entry and a summary. Exit 0 unless an entry failed for good (then 1). Several \
            replays may run on one journal at once: each entry is leased to one of them.

            Example:
              picus-journal replay --dry-run
              picus-journal replay --concurrency 8
              picus-journal replay --watch    # until SIGINT or SIGTERM
              picus-journal replay --watch --metrics 127.0.0.1:9464

            --metrics serves /metrics and /healthz. With TRACEPARENT (and TRACESTATE) set, the replayer's \
            own trace context is that one; each entry's attempts continue the trace it was written in.
            """)

    @Flag(help: "List what would be sent; send nothing.")
    var dryRun = false

    @Flag(help: "Keep replaying as entries fall due, until SIGINT or SIGTERM.")
    var watch = false

    @Option(help: ArgumentHelp("Only this entry.", valueName: "id"))
    var id: Int64?

    @Option(help: ArgumentHelp("At most this many entries.", valueName: "n"))
    var limit: Int?

    @Option(help: ArgumentHelp("How many entries are sent at once.", valueName: "n"))
    var concurrency: Int = 4

    @Flag(help: "Ignore each entry's next-attempt time; never a live lease, a succeeded entry, or a time the server asked for.")
    var force = false

    @Option(help: ArgumentHelp("Seconds a lease lasts between renewals (renewed every third while the attempt runs; it may be shorter than --timeout). Default 30.", valueName: "seconds"))
    var lease: Double?

    @Option(help: ArgumentHelp("With --watch: serve Prometheus metrics at http://HOST:PORT/metrics and a health check at /healthz (200 or 503). Port 0 picks a free one.", valueName: "host:port"))
    var metrics: String?

    @Option(help: "text for people; ndjson for scripts: one list-form JSON object per replayed (or, with --dry-run, due) entry, the rest on stderr.")
    var format: ReplayFormat = .text

    @OptionGroup var journal: JournalOptions
    @OptionGroup var api: APIOptions

    /// How replayed entries are printed: `replay` and `replay --watch` both print through this.
    enum ReplayFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, ndjson

        /// One replayed or due entry: its line for people, or its list-form JSON object.
        func emit(_ entry: Entry, line: String) {
            switch self {
            case .text: say(line)
            case .ndjson: say(((try? EntryDocument.ndjson([entry])) ?? "").trimmingCharacters(in: .newlines))
            }
        }

        /// A line of prose: on stdout for people, on stderr beside NDJSON.
        func tell(_ text: String) {
            switch self {
            case .text: say(text)
            case .ndjson: note(text)
            }
        }
    }

    func validate() throws {
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be a positive number") }
        if let lease, !(lease.isFinite && lease >= 0.5 && lease <= 86_400) {
            throw ValidationError("--lease must be between 0.5 and 86400 seconds")
        }
        if watch, dryRun || id != nil || limit != nil {
            throw ValidationError("--watch replays everything as it falls due; it does not take --dry-run, --id or --limit")
        }
        if let metrics {
            guard watch else { throw ValidationError("--metrics serves metrics while the replayer runs: use it with --watch") }
            guard MetricsAddress(metrics) != nil else {
                throw ValidationError("--metrics must be HOST:PORT, such as 127.0.0.1:9464 or [::1]:9464, with a port from 0 to 65535")
            }
        }
    }

    func run() async throws {
        try await reportingErrors {
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.durationHistogramBuckets = JournalMetrics.histogramBuckets
            let journalOptions = journal
            let client = try api.makeClient(opening: { try journalOptions.open(creating: true) },
                                            metrics: metrics == nil ? .system : JournalMetrics(factory: factory))
            let journal = client.journal
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = concurrency
            configuration.observability.logger = Logger(label: "picus.replay")
            if let lease { configuration.leases.duration = .milliseconds(Int64(lease * 1000)) }
            let engine = ReplayEngine(client: client, configuration: configuration)
            let options = ReplayEngine.DrainOptions(entryID: id, limit: limit, force: force)

            if dryRun {
                let due = try await engine.plan(options)
                if due.isEmpty {
                    let next = try await journal.nextWakeDate()
                    format.tell("Nothing is due." + (next.map { " The next entry falls due at \(ISO8601String($0))." } ?? ""))
                } else {
                    format.tell("Would replay \(due.count) entr\(due.count == 1 ? "y" : "ies"):")
                }
                for entry in due {
                    format.emit(entry, line: "  entry \(entry.id): \(entry.method) \(entry.redactedTarget) (attempt \(entry.attemptCount + 1), \(entry.state.rawValue))")
                }
                return
            }
            if watch {
                var replayer = ReplayWatch(engine: engine, path: self.journal.resolvedPath, format: format)
                if let address = metrics.flatMap(MetricsAddress.init) {
                    let endpoint = MetricsEndpoint(address: address, registry: registry, engine: engine, format: format)
                    replayer.waitsFor = endpoint.listening
                    try await runUntilSignalled(replayer, endpoint)
                } else {
                    try await runUntilSignalled(replayer)
                }
                return
            }
            let summary = try await engine.drain(options)
            for item in summary.items { format.emit(item.entry, line: item.summary) }
            format.tell(try await describe(summary, journal: journal))
            if !summary.failed.isEmpty { throw ExitCode.failure }
        }
    }

    private func describe(_ summary: ReplayEngine.Summary, journal: Journal) async throws -> String {
        var lines: [String] = []
        if !summary.recovered.isEmpty {
            lines.append("Took back \(summary.recovered.count) entr\(summary.recovered.count == 1 ? "y" : "ies") whose sender stopped mid-request: \(summary.recovered.map(String.init).joined(separator: ", ")).")
        }
        if !summary.expiredUnsent.isEmpty {
            lines.append("Expired \(summary.expiredUnsent.count) entries too old to send.")
        }
        lines.append("Replayed \(summary.replayed): \(summary.succeeded.count) succeeded, \(summary.requeued.count) re-queued, \(summary.failed.count) failed, \(summary.expired.count) expired.")
        for entry in summary.requeued {
            lines.append("  entry \(entry.id) re-queued for \(entry.dueAt.map(ISO8601String) ?? "later")")
        }
        if let until = summary.hostBackedOffUntil {
            lines.append("The API kept failing: the host is backed off until \(ISO8601String(until)).")
        }
        if summary.replayed == 0, let next = try await journal.nextWakeDate() {
            lines.append("Nothing was due; the next entry falls due at \(ISO8601String(next)).")
        }
        return lines.joined(separator: "\n")
    }
}

/// `replay --watch` as a service: a line per replayed entry until graceful shutdown, then the
/// requests under way finish and are recorded.
struct ReplayWatch: Service {
    let engine: ReplayEngine
    let path: String
    let format: ReplayCommand.ReplayFormat
    /// With `--metrics`: nothing is replayed until the endpoint listens, so a port in use fails the
    /// command before any entry is sent.
    var waitsFor: ListeningSignal?

    func run() async throws {
        if let waitsFor {
            guard await cancelWhenGracefulShutdown({ await waitsFor.wait() }) else { return }
        }
        // Printed once the service group traps SIGINT and SIGTERM: from here a signal cannot kill
        // the process mid-request.
        format.tell("Replaying \(path) as entries fall due; stop with SIGINT or SIGTERM.")
        let format = self.format
        try await cancelWhenGracefulShutdown {
            try await engine.run { item in format.emit(item.entry, line: item.summary) }
        }
        format.tell("Stopped.")
    }
}
