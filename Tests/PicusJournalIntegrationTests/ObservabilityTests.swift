import CoreMetrics
import Foundation
import HTTPTypes
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import InMemoryTracing
import MetricsTestKit
import PicusJournal
import PicusSandbox
import Testing
import Tracing
import PicusJournalTesting
import PicusJournalTestSupport

/// swift-metrics: what is counted and timed, with bounded labels.
@Suite(.timeLimit(.minutes(1)))
struct MetricsTests {
    @Test func attemptsCommitsAndReplaysAreMeasuredWithFoldedEndpoints() async throws {
        let folder = try TemporaryFolder()
        let metrics = TestMetrics()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox) { $0.observability.metrics = JournalMetrics(factory: metrics) }
            await sandbox.addFault(SandboxFault(status: 503, count: 1, method: "GET", path: "/v1/agents"))
            _ = try await client.send(.get("/v1/agents"))
            _ = try await client.send(.get("/v1/agents"))
            _ = try await client.send(.get("/v1/agents/8412"))

            let attempts = metrics.counters(label: JournalMetrics.Name.attempts)
            func count(_ endpoint: String, _ outcome: String, _ status: String) -> Int64 {
                metrics.counterTotal(label: JournalMetrics.Name.attempts,
                                     dimensions: [("endpoint", endpoint), ("outcome", outcome), ("status", status)])
            }
            #expect(count("GET /v1/agents", "retryable", "503") == 1)
            #expect(count("GET /v1/agents", "success", "200") == 1)
            #expect(attempts.contains { $0.dimensions.contains { $0 == ("endpoint", "GET /v1/agents/{id}") } }, "\(attempts.map(\.dimensions))")
            #expect(!attempts.contains { $0.dimensions.contains { $0.1.contains("8412") } }, "a raw id became a label")
            #expect(try metrics.expectTimer(JournalMetrics.Name.writeDuration, [("operation", "insert")]).values.count == 3)
            #expect(try metrics.expectTimer(JournalMetrics.Name.writeDuration, [("operation", "record")]).values.count == 3)
            #expect(try metrics.expectTimer(JournalMetrics.Name.attemptDuration, [("endpoint", "GET /v1/agents"), ("outcome", "success")])
                .values.count == 1)

            // The queued entry, replayed: its lateness and its claim are timed, the gauges follow the queue.
            let engine = ReplayEngine(client: client)
            let before = await engine.health()
            #expect(before.queue?.depth[.queued] == 1)
            #expect(try metrics.expectGauge(JournalMetrics.Name.queueDepth, [("state", "queued")]).lastValue == 1)
            _ = try await engine.drain(ReplayEngine.DrainOptions(force: true))
            #expect(try metrics.expectTimer(JournalMetrics.Name.replayLag).values.count == 1)
            #expect(try metrics.expectTimer(JournalMetrics.Name.writeDuration, [("operation", "claim")]).values.count >= 1)
            #expect(count("GET /v1/agents", "success", "200") == 2)
            _ = await engine.health()
            #expect(try metrics.expectGauge(JournalMetrics.Name.queueDepth, [("state", "queued")]).lastValue == 0)
            #expect(try metrics.expectGauge(JournalMetrics.Name.activeHolds).lastValue == 0)
        }
    }

    @Test func healthIsGoodOnlyWhileTheReplayerRunsAndMakesProgress() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            try await client.enqueue(.get("/v1/agents"))
            let engine = ReplayEngine(client: client)

            let idle = await engine.health()
            #expect(!idle.isHealthy)
            #expect(idle.reason == "the replayer is not running")

            let (replayed, replay) = AsyncStream<Void>.makeStream()
            let running = Task { try await engine.run { _ in replay.yield() } }
            var iterator = replayed.makeAsyncIterator()
            _ = await iterator.next()

            let live = await engine.health()
            #expect(live.isHealthy, "\(live.reason ?? "")")
            #expect(live.queue?.depth[.succeeded] == nil)
            let stalled = await engine.health(now: Date().addingTimeInterval(3600))
            #expect(!stalled.isHealthy)
            #expect(stalled.reason?.contains("no progress") == true, "\(stalled.reason ?? "")")
            let body = String(decoding: try JSONEncoder().encode(live), as: UTF8.self)
            #expect(body.contains(#""status":"ok""#), "\(body)")

            running.cancel()
            try await running.value
            #expect(await engine.health().reason == "the replayer is not running")
        }
    }

    @Test func endpointLabelsAreBounded() {
        let metrics = JournalMetrics(factory: TestMetrics())
        let labels = (0..<(JournalMetrics.maximumEndpointLabels * 2)).map {
            metrics.label(forEndpoint: "GET /v1/bounded-\($0)")
        }
        #expect(Set(labels).count <= JournalMetrics.maximumEndpointLabels + 1)
        #expect(labels.last == "other")
    }
}

/// swift-distributed-tracing: a span per attempt, the caller's trace kept with the entry and
/// continued by a replay in another journal connection.
@Suite(.timeLimit(.minutes(1)))
struct TracingTests {
    @Test func aReplayContinuesTheTraceTheEntryWasWrittenIn() async throws {
        let folder = try TemporaryFolder()
        let tracer = InMemoryTracer()
        try await withSandbox(.unlimited) { sandbox in
            await sandbox.addFault(SandboxFault(status: 503, count: 1, method: "POST", path: "/v1/simulations"))
            let client = try makeClient(folder: folder, sandbox: sandbox) { $0.observability.tracer = tracer }
            let (callerTrace, callerSpan, delivery) = try await tracer.withSpan("caller") { span in
                (span.context.inMemorySpanContext!.traceID, span.context.inMemorySpanContext!.spanID,
                 try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"traced"}"#)))
            }
            #expect(delivery.entry.state == .queued)

            let first = try #require(tracer.finishedSpans.first { $0.kind == .client && $0.attributes["picus.token_exchange"] == nil })
            #expect(first.operationName == "POST /v1/simulations")
            #expect(first.traceID == callerTrace)
            #expect(first.parentSpanID == callerSpan)
            #expect(first.attributes["http.request.method"]?.toSpanAttribute() == "POST")
            #expect(first.attributes["http.response.status_code"]?.toSpanAttribute() == 503)
            #expect(first.attributes["error.type"]?.toSpanAttribute() == "503")
            #expect(first.attributes["server.address"]?.toSpanAttribute() == "127.0.0.1")
            #expect(first.attributes["url.template"]?.toSpanAttribute() == "/v1/simulations")
            #expect(first.status?.code == .error)

            // Another connection to the journal, as another process would open it, replays it later
            // under the replayer's own span.
            tracer.clearFinishedSpans()
            let replayer = JournaledClient(journal: try Journal(path: folder.path("journal.sqlite")), baseURL: sandbox.url,
                                           credentials: RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url),
                                           configuration: { var c = JournaledClient.Configuration(); c.observability.tracer = tracer; return c }())
            let replayerSpan = try await tracer.withSpan("replayer") { span in
                _ = try await ReplayEngine(client: replayer).drain(ReplayEngine.DrainOptions(force: true))
                return span.context.inMemorySpanContext!.spanID
            }
            let replayed = try #require(tracer.finishedSpans.first { $0.kind == .client && $0.attributes["picus.token_exchange"] == nil })
            #expect(replayed.traceID == callerTrace, "the replay continues the caller's trace")
            #expect(replayed.parentSpanID == callerSpan, "its parent is the caller's span")
            #expect(replayed.links.count == 1)
            #expect(replayed.links.first?.context.inMemorySpanContext?.spanID == replayerSpan, "it links to the replayer")
            #expect(replayed.attributes["http.request.resend_count"]?.toSpanAttribute() == 1)
            #expect(replayed.attributes["http.response.status_code"]?.toSpanAttribute() == 201)
            #expect(replayed.status == nil)

            // Each attempt carried its own span's context to the server.
            let sent = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            #expect(sent.count == 2)
            #expect(sent.allSatisfy { $0.headers[InMemoryTracer.traceIDKey] == callerTrace })
            #expect(sent.last?.headers[InMemoryTracer.spanIDKey] == replayed.spanID)
        }
    }

    @Test func theTokenExchangeTravelsTheClientsTransportTracingAndMetrics() async throws {
        let folder = try TemporaryFolder()
        let tracer = InMemoryTracer()
        let metrics = TestMetrics()
        let transport = RecordingTransport()
        try await withSandbox(.unlimited) { sandbox in
            let client = JournaledClient(
                journal: try Journal(path: folder.path("journal.sqlite")), baseURL: sandbox.url,
                credentials: RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url),
                transport: transport,
                configuration: { var c = JournaledClient.Configuration(); c.observability.tracer = tracer; c.observability.metrics = JournalMetrics(factory: metrics); return c }())
            let callerTrace = try await tracer.withSpan("caller") { span in
                _ = try await client.send(.get("/v1/agents"))
                return span.context.inMemorySpanContext!.traceID
            }

            #expect(transport.paths == ["/v1/auth/token", "/v1/agents"], "the exchange went through the client's transport")
            let exchange = try #require(tracer.finishedSpans.first { $0.operationName == "POST /v1/auth/token" })
            #expect(exchange.kind == .client)
            #expect(exchange.traceID == callerTrace, "the exchange is part of the caller's trace")
            #expect(exchange.attributes["http.response.status_code"]?.toSpanAttribute() == 200)
            let secrets = await ["sandbox-refresh-token"] + sandbox.issuedAccessTokens()
            #expect(secrets.count == 2)
            var values: [String] = []
            exchange.attributes.forEach { name, attribute in values.append("\(name)=\(attribute)") }
            #expect(values.count >= 5)
            #expect(!values.contains { value in secrets.contains { value.contains($0) } }, "a span attribute carries a secret: \(values)")
            #expect(metrics.counterTotal(label: JournalMetrics.Name.tokenExchanges, dimensions: [("status", "200")]) == 1)
            #expect(try metrics.expectTimer(JournalMetrics.Name.tokenExchangeDuration).values.count == 1)
            #expect(try await client.journal.entries(matching: JournalQuery()).map(\.path) == ["/v1/agents"], "the exchange is never journaled")
        }
    }

    @Test func withoutATracerTheCallersTraceparentIsPassedOn() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox) { $0.observability.tracer = nil }
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            var context = ServiceContext.topLevel
            context.picusTraceContext = TraceContext(traceparent: traceparent, tracestate: "picus=1")
            let delivery = try await ServiceContext.$current.withValue(context) {
                try await client.send(.get("/v1/agents"))
            }
            #expect(delivery.entry.traceContext?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
            let sent = try #require(await sandbox.receivedRequests().last { $0.path == "/v1/agents" })
            #expect(sent.headers["traceparent"] == traceparent)
            #expect(sent.headers["tracestate"] == "picus=1")

            // No context, no header.
            _ = try await client.send(.get("/v1/agents"))
            let plain = try #require(await sandbox.receivedRequests().last { $0.path == "/v1/agents" })
            #expect(plain.headers["traceparent"] == nil)
        }
    }

    @Test(arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", nil),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", nil),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", nil),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", nil),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", nil),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", nil),
        ("", nil),
    ] as [(String, String?)])
    func traceparentsAreCheckedAsW3CSays(traceparent: String, traceID: String?) {
        #expect(TraceContext(traceparent: traceparent)?.traceID == traceID)
    }

    @Test func aTracestateWithControlCharactersIsDroppedAndTheTraceKept() throws {
        let context = try #require(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                                tracestate: "vendor=1\r\nX-Injected: yes"))
        #expect(context.tracestate == nil)
        #expect(context.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
    }
}

/// The CLI: `replay --watch --metrics`, and the caller's trace from the environment.
@Suite(.timeLimit(.minutes(2)))
struct ObservabilityCLITests {
    @Test func replayWatchServesPrometheusMetricsAndHealth() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let environment = ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token"]
            let db = folder.path("journal.sqlite")
            await sandbox.addFault(SandboxFault(status: 503, count: 1, method: "GET", path: "/v1/agents"))
            let queued = try await runCLI(["request", "GET", "/v1/agents", "--db", db], environment: environment, in: folder)
            #expect(queued.status == 1, "\(queued.stderr)")

            let watcher = try RunningProcess(["replay", "--watch", "--force", "--db", db, "--metrics", "127.0.0.1:0"], environment: environment)
            let announced = await watcher.lines(until: "Serving metrics")
            let line = try #require(announced.last { $0.contains("Serving metrics") }, "\(announced)")
            let base = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }.map { String($0.dropLast("/metrics".count)) })
            _ = await sandbox.receivedRequests { $0.filter { $0.path == "/v1/agents" }.count >= 2 }
            _ = await watcher.lines(until: "succeeded")

            let health = try await httpGet(base + "/healthz")
            #expect(health.status == 200, "\(health.body)")
            #expect(health.body.contains(#""status":"ok""#), "\(health.body)")
            let metrics = try await httpGet(base + "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains(#"picus_journal_attempts_total{endpoint="GET /v1/agents",outcome="success",status="200"} 1"#), "\(metrics.body)")
            #expect(metrics.body.contains(#"picus_journal_queue_depth{state="queued"} 0"#), "\(metrics.body)")
            #expect(metrics.body.contains("picus_journal_replay_lag_seconds_count 1"), "\(metrics.body)")
            #expect(metrics.body.contains(#"picus_journal_write_duration_seconds_bucket{operation="record",le="0.0001"}"#), "\(metrics.body)")
            #expect(!metrics.body.contains("sandbox-refresh-token"))

            watcher.terminate()
            #expect(try await watcher.exitStatus() == 0)
        }
    }

    @Test func metricsNeedsWatchAndAnAddress() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let alone = try await runCLI(["replay", "--db", db, "--metrics", "127.0.0.1:0"], in: folder)
        let nonsense = try await runCLI(["replay", "--watch", "--db", db, "--metrics", "everywhere"], in: folder)
        #expect(alone.status == 64)
        #expect(alone.stderr.contains("use it with --watch"), "\(alone.stderr)")
        #expect(nonsense.status == 64)
        #expect(nonsense.stderr.contains("HOST:PORT"), "\(nonsense.stderr)")
    }

    @Test func aRequestKeepsTheTraceFromTheEnvironmentAndAReplayInAnotherProcessCarriesIt() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let environment = ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token"]
            let db = folder.path("journal.sqlite")
            let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            await sandbox.addFault(SandboxFault(status: 503, count: 1, method: "GET", path: "/v1/agents"))
            let sent = try await runCLI(["request", "GET", "/v1/agents", "--db", db],
                                        environment: environment.merging(["TRACEPARENT": traceparent, "TRACESTATE": "picus=7"]) { $1 }, in: folder)
            #expect(sent.status == 1)
            let shown = try await runCLI(["show", "1", "--format", "json", "--db", db], in: folder)
            let document = try #require(try JSONSerialization.jsonObject(with: shown.stdoutData) as? [String: Any])
            #expect(document["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c")

            let replay = try await runCLI(["replay", "--force", "--db", db], environment: environment, in: folder)
            #expect(replay.status == 0, "\(replay.stderr)")
            let attempts = await sandbox.receivedRequests().filter { $0.path == "/v1/agents" }
            #expect(attempts.count == 2)
            #expect(attempts.allSatisfy { $0.headers["traceparent"] == traceparent && $0.headers["tracestate"] == "picus=7" },
                    "\(attempts.map(\.headers))")

            let invalid = try await runCLI(["request", "GET", "/v1/agents", "--db", db],
                                           environment: environment.merging(["TRACEPARENT": "00-nonsense\u{1b}[2J"]) { $1 }, in: folder)
            #expect(invalid.status == 0)
            #expect(invalid.stderr.contains("ignoring TRACEPARENT"), "\(invalid.stderr)")
            #expect(!invalid.stderr.contains("\u{1b}"))
            let untraced = try await runCLI(["show", "2", "--format", "json", "--db", db], in: folder)
            #expect(untraced.stdout.contains(#""traceId" : null"#), "\(untraced.stdout)")
        }
    }
}

/// A GET over HTTP/1.1 on loopback: its status and body.
private func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    let (data, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// The default transport, keeping the path of every request it sent.
final class RecordingTransport: HTTPTransport {
    private let sent = LockedValue<[String]>([])
    var paths: [String] { sent.withLock { $0 } }

    func send(_ request: HTTPRequest, body: Data?, options: TransportOptions) async throws -> TransportResponse {
        sent.withLock { $0.append(request.path ?? "") }
        return try await DefaultTransport.shared.send(request, body: body, options: options)
    }
}
