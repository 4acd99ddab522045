// Every Swift code block of the DocC articles in Sources/PicusJournal/PicusJournal.docc and of docs/, verbatim, each
// the body of a private function that is never called: the test target compiles them against the real API.
// The free names a snippet uses are its function's parameters; a line after a snippet (`_ = value`) only
// keeps a value the snippet leaves unused from warning. The package manifest and `runAgent` are not here: they
// are Examples/Agent's Package.swift and Sources/Agent/Agent.swift; docs/fleet.md's snippet is in the
// fleet tests' DocumentationSnippets+Fleet.swift.

import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PicusJournal
import Prometheus
import ServiceLifecycle
import Tracing
import UnixSignals

// PicusJournal.md: let journal = try Journal(path: "/var/lib/my-agent/journal.sqlite")
private func overviewSnippet(baseURL: URL, refreshToken: String, logger: Logger) async throws {
    let journal = try Journal(path: "/var/lib/my-agent/journal.sqlite")
    let client = JournaledClient(
        journal: journal, baseURL: baseURL,
        credentials: RefreshTokenCredentials(refreshToken: refreshToken, baseURL: baseURL))

    let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#))
    if !delivery.isSuccess { logger.warning("\(delivery.summary)") }
}

// LinkingIntoAnAgent.md: let refreshToken = try String(contentsOfFile: "/etc/my-agent/refresh-token", encoding: .utf8)
private func linkingOpenJournalWithLoggersSnippet(baseURL: URL) throws {
    let refreshToken = try String(contentsOfFile: "/etc/my-agent/refresh-token", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)

    var journalConfiguration = Journal.Configuration()
    journalConfiguration.observability.logger = Logger(label: "my-agent.journal")
    let journal = try Journal(path: "/var/lib/my-agent/journal.sqlite", configuration: journalConfiguration)

    var clientConfiguration = JournaledClient.Configuration()
    clientConfiguration.observability.logger = Logger(label: "my-agent.picus")
    let client = JournaledClient(
        journal: journal, baseURL: baseURL,
        credentials: RefreshTokenCredentials(refreshToken: refreshToken, baseURL: baseURL),
        configuration: clientConfiguration)
    _ = client
}

// LinkingIntoAnAgent.md: let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#))
private func linkingSendSnippet(client: JournaledClient, logger: Logger) async throws {
    let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#))
    if delivery.isSuccess {
        logger.info("created: \(String(decoding: delivery.response!.body, as: UTF8.self))")
    } else {
        logger.warning("\(delivery.summary)")
        // entry 12 (POST /v1/simulations): HTTP 503 SERVICE UNAVAILABLE “service unavailable”; queued for replay at …
    }
}

// LinkingIntoAnAgent.md: let entry = try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"weekly"}"#))
private func linkingEnqueueSnippet(client: JournaledClient) async throws {
    let entry = try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"weekly"}"#))
    // entry.state == .pending; the replay engine sends it
    _ = entry
}

// LinkingIntoAnAgent.md: var replayConfiguration = ReplayEngine.Configuration()
private func linkingReplayBesideHummingbirdSnippet(client: JournaledClient, logger: Logger) async throws {
    var replayConfiguration = ReplayEngine.Configuration()
    replayConfiguration.observability.logger = Logger(label: "my-agent.replay")
    let engine = ReplayEngine(client: client, configuration: replayConfiguration)

    let router = Router()
    router.post("/nightly") { _, _ -> String in
        try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#)).summary
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8080)))

    let group = ServiceGroup(services: [app, engine], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}

// MetricsAndTracing.md: let registry = PrometheusCollectorRegistry()
private func metricsPrometheusSnippet(router: Router<BasicRequestContext>, engine: ReplayEngine) {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets = JournalMetrics.histogramBuckets
    MetricsSystem.bootstrap(factory)

    // In the agent's Hummingbird router, beside its other routes:
    router.get("/metrics") { _, _ -> String in
        _ = await engine.health()              // refresh the queue gauges at each scrape, as the CLI does
        return registry.emitToString()
    }
}

// MetricsAndTracing.md: var context = ServiceContext.current ?? .topLevel
private func tracingAttachContextSnippet(client: JournaledClient) async throws {
    var context = ServiceContext.current ?? .topLevel
    context.picusTraceContext = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    let delivery = try await ServiceContext.withValue(context) { try await client.send(.get("/v1/agents")) }
    _ = delivery
}

// OperatingWithSystemd.md: router.get("/healthz") { _, _ -> Response in
private func systemdHealthRouteSnippet(router: Router<BasicRequestContext>, engine: ReplayEngine) {
    router.get("/healthz") { _, _ -> Response in
        let health = await engine.health()
        let body = try JSONEncoder().encode(health)
        return Response(status: health.isHealthy ? .ok : .serviceUnavailable,
                        headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

// ReplayAndLeases.md: var configuration = JournaledClient.Configuration()
private func replayOverridesSnippet() {
    var configuration = JournaledClient.Configuration()
    configuration.retryPolicy.overrides = [
        .init(method: "POST", path: "/v1/simulations", retryableStatuses: [408, 429, 500, 503, 504]),
        .init(path: "/v1/templates/*", maximumAttempts: 3),
    ]
    _ = configuration
}

// ReplayAndLeases.md: let engine = ReplayEngine(client: client)
private func replayDrainByHandSnippet(client: JournaledClient, logger: Logger) async throws {
    let engine = ReplayEngine(client: client)
    let due = try await engine.plan()                                   // what would go now
    let summary = try await engine.drain(.init(limit: 100))
    for item in summary.items { logger.info("\(item.summary)") }
    _ = due
}

// TheReadSide.md: var query = JournalQuery(statuses: [.code(422), .class(5)], since: JournalQuery.time("24h"))
private func readQueryingSnippet(journal: Journal) async throws {
    var query = JournalQuery(statuses: [.code(422), .class(5)], since: JournalQuery.time("24h"))
    query.pathGlob = "/v1/simulations*"      // case-sensitive glob on the path, query string excluded
    query.text = "validation"                // the last error message, ASCII case ignored
    let page = try await journal.page(matching: query)
    for entry in page.entries { print(entry.id, entry.state, entry.lastStatus ?? 0) }
    if let next = page.nextCursor { query.after = next }      // then ask for the next page
}

// TheReadSide.md: let stats = try await journal.statistics(matching: query, by: .path)
private func readStatisticsSnippet(journal: Journal, query: JournalQuery) async throws {
    let stats = try await journal.statistics(matching: query, by: .path)
    // stats.total, stats.byState, stats.failureRate, stats.topErrors, stats.queueDepth, stats.oldestQueued, stats.groups
    _ = stats
}

// TheReadSide.md: let failures = try await journal.entries(matching: JournalQuery(statuses: [.class(4)]))
private func readEntryDocumentSnippet(journal: Journal) async throws {
    let failures = try await journal.entries(matching: JournalQuery(statuses: [.class(4)]))
    let list = try EntryDocument.json(failures.map { EntryDocument($0) })     // "[]" when empty
    if let entry = try await journal.entry(id: 42) {
        let attempts = try await journal.attempts(ofEntry: entry.id)
        print(try EntryDocument.json(EntryDocument(entry, attempts: attempts)))
    }
    _ = list
}

// TheReadSide.md: let reader = try Journal(readingFrom: "/var/lib/my-agent/journal.sqlite")
private func readExportTicketSnippet() async throws {
    let reader = try Journal(readingFrom: "/var/lib/my-agent/journal.sqlite")
    var ticket = JournalQuery(since: JournalQuery.time("24h"), limit: nil)
    ticket.pathGlob = "/v1/simulations*"
    var options = ExportOptions()
    options.summary = "POST /v1/simulations refused since 02:00 UTC"      // HAR log.comment
    options.statistics = try await reader.statistics(matching: ticket)    // HAR log._summary
    let result = try await reader.export(matching: ticket, as: .har, options: options, toFile: "ticket.har")
    // result.entries, result.attempts, result.bytes
    _ = result
}

// TheReadSide.md: var configuration = JournaledClient.Configuration()
private func readRedactionSnippet() {
    var configuration = JournaledClient.Configuration()
    configuration.redaction = RedactionRules(headerNames: ["X-Customer-Pin"], jsonKeys: ["customer_pin"])
    _ = configuration
}

// docs/library.md: var configuration = JournaledClient.Configuration()
private func libraryConfigurationSnippet() {
    var configuration = JournaledClient.Configuration()
    configuration.limits.timeout = .seconds(10)
    configuration.observability.logger = Logger(label: "my-agent.picus")
    _ = configuration
}

// docs/library.md: let engine = ReplayEngine(client: client, configuration: {
private func libraryServiceGroupSnippet(client: JournaledClient, app: some Service, logger: Logger) async throws {
    let engine = ReplayEngine(client: client, configuration: {
        var configuration = ReplayEngine.Configuration()
        configuration.observability.logger = logger
        return configuration
    }())
    let group = ServiceGroup(services: [engine, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}
