import ArgumentParser
import Foundation
import HTTPTypes
import PicusJournal
import PicusSandbox

/// The benchmark: each scenario against a baseline measured in the same run.
///
/// `--format json` prints one JSON object:
/// `{"writeAhead": {"full": {"journalMs", "rawSQLiteMs"}, "normal": {…}},
///   "drain": {"1": {"entriesPerSecond", "bareRequestsPerSecond"}, "4": {…}, "8": {…}},
///   "concurrentSend": {"8": {"journaledPerSecond", "barePerSecond"}}, "request": {…}}`.
/// Milliseconds are means per request.
@main
struct Benchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "picus-journal-bench",
        abstract: "Measure the journal against baselines taken in the same run, on an in-process sandbox.",
        discussion: """
            Each scenario prints its ratio to a baseline measured in the same run: a bare request, raw \
            SQLite, a drain of bare requests. Build with -c release for numbers worth keeping.

            Examples:
              swift run -c release picus-journal-bench
              swift run -c release picus-journal-bench --only drain --concurrency 4 --latency 10
            """)

    /// A section of the benchmark, for `--only`.
    enum Section: String, ExpressibleByArgument, CaseIterable {
        case request, concurrent, drain, paced, journal
    }

    /// How the results are printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @Option(help: "Requests per scenario.")
    var requests = 2000

    @Option(help: "table, or one JSON object.")
    var format: Format = .table

    @Option(help: ArgumentHelp("Run one section alone, for a profiler.", valueName: "section"))
    var only: Section?

    @Option(help: ArgumentHelp("Run the drain at this concurrency alone (default: 1, 4 and 8).", valueName: "n"))
    var concurrency: Int?

    @Option(help: ArgumentHelp("The sandbox answers after this many milliseconds, as a remote API would.", valueName: "ms"))
    var latency: Int?

    func validate() throws {
        guard requests > 0 else { throw ValidationError("--requests must be at least 1") }
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let latency, latency < 0 { throw ValidationError("--latency must be 0 or more milliseconds") }
    }

    func run() async throws {
        try await Self.measureEverything(as: self)
    }

    private static func measureEverything(as options: Benchmark) async throws {
        let requests = options.requests
        let json = options.format == .json
        let only = options.only
        let latency = options.latency
        func say(_ line: String) { if !json { print(line) } }
        func runs(_ section: String) -> Bool { only == nil || only?.rawValue == section }
        let drainConcurrencies = options.concurrency.map { [$0] } ?? [1, 4, 8]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("picus-journal-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let sandbox = try await PicusSandbox.start(configuration: .unlimited)
        let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)
        let token = try await credentials.accessToken()
        let transport = DefaultTransport.shared
        let url = sandbox.url.appendingPathComponent("v1/agents")
        var report: [String: JSONValue] = ["requests": .integer(Int64(requests))]
        // `--latency MS` delays every answer of the sandbox by MS, as a remote API's round trip does:
        // the rates are then those of a wire with latency, not of two cores shared with the server.
        if let milliseconds = latency {
            await sandbox.setLatency(.milliseconds(milliseconds))
            report["latencyMs"] = .integer(Int64(milliseconds))
            say("Every answer of the sandbox is delayed by \(milliseconds) ms.")
        }

        say("picus-journal benchmark: \(requests) sequential GET /v1/agents against the sandbox on 127.0.0.1")
        say("")

        @Sendable func bareGET(_ transport: any HTTPTransport) async throws {
            let response = try await transport.send(HTTPRequest(method: .get, url: url, headerFields: [
                .authorization: "Bearer \(token)", .accept: "application/json",
                HTTPField.Name("Idempotency-Key")!: UUID().uuidString.lowercased(),
            ]), body: nil, options: TransportOptions())
            precondition(response.status == 200)
        }
        if runs("request") {
            let bare = try await measure(requests) { try await bareGET(transport) }
            let urlSession = URLSessionTransport()
            let bareURLSession = try await measure(requests) { try await bareGET(urlSession) }

            var rows = [("bare \(type(of: transport)) (baseline)", bare), ("bare URLSessionTransport", bareURLSession)]
            var requestReport: [String: JSONValue] = ["bareMs": .number(bare.mean), "bareURLSessionMs": .number(bareURLSession.mean)]
            for durability in Journal.Configuration.Durability.allCases {
                var configuration = Journal.Configuration()
                configuration.durability = durability
                let journal = try Journal(path: folder.appendingPathComponent("journal-\(durability.rawValue).sqlite").path,
                                          configuration: configuration)
                let client = JournaledClient(journal: journal, baseURL: sandbox.url, credentials: credentials, transport: transport)
                let timings = try await measure(requests) {
                    let delivery = try await client.send(.get("/v1/agents"))
                    precondition(delivery.isSuccess)
                }
                rows.append(("journaled, durability \(durability.rawValue)", timings))
                requestReport["journaled\(durability == .full ? "Full" : "Normal")Ms"] = .number(timings.mean)
            }
            report["request"] = .object(requestReport)

            say(pad("scenario", 34) + pad("mean ms", 10) + pad("p50 ms", 10) + pad("p99 ms", 10) + pad("req/s", 10) + "× baseline")
            for (name, timings) in rows {
                say(pad(name, 34) + pad(format(timings.mean), 10) + pad(format(timings.percentile(0.5)), 10)
                    + pad(format(timings.percentile(0.99)), 10) + pad(String(Int(1000 / timings.mean)), 10)
                    + format(timings.mean / bare.mean, digits: 2))
            }
            say("")
            say("Overhead of the journal per request (mean): " + rows.filter { $0.0.hasPrefix("journaled") }.map {
                "\($0.0.replacingOccurrences(of: "journaled, ", with: "")): +\(format($0.1.mean - bare.mean)) ms"
            }.joined(separator: ", "))

        }

        // Concurrent senders through one client: their write-aheads and records share commits.
        if runs("concurrent") {
            say("")
            say("Concurrent sends: \(requests) GET /v1/agents from 8 tasks through one JournaledClient, durability full")
            say("")
            let bareCPU = ProcessCPU()
            let bareConcurrent = try await rate(requests, concurrency: 8) { try await bareGET(transport) }
            let bareCPUMs = bareCPU.milliseconds / Double(requests)
            let sendJournal = try Journal(path: folder.appendingPathComponent("concurrent.sqlite").path)
            let sendClient = JournaledClient(journal: sendJournal, baseURL: sandbox.url, credentials: credentials, transport: transport)
            let journaledCPU = ProcessCPU()
            let journaledConcurrent = try await rate(requests, concurrency: 8) {
                let delivery = try await sendClient.send(.get("/v1/agents"))
                precondition(delivery.isSuccess)
            }
            let journaledCPUMs = journaledCPU.milliseconds / Double(requests)
            say(pad("concurrency", 14) + pad("bare req/s", 14) + pad("journaled req/s", 18) + "× baseline")
            say(pad("8", 14) + pad(String(Int(bareConcurrent)), 14) + pad(String(Int(journaledConcurrent)), 18)
                + pad(format(journaledConcurrent / bareConcurrent, digits: 2), 12)
                + "CPU per request: bare \(format(bareCPUMs)) ms, journaled \(format(journaledCPUMs)) ms")
            report["concurrentSend"] = .object(["8": .object([
                "journaledPerSecond": .number(journaledConcurrent), "barePerSecond": .number(bareConcurrent),
                "cpuMsPerRequest": .number(journaledCPUMs), "bareCpuMsPerRequest": .number(bareCPUMs),
            ])])

        }

        if runs("drain") {
            say("")
            say("Replay drain: \(requests) pending POST /v1/simulations, durability full, no rate limit")
            say("")
            say(pad("concurrency", 14) + pad("bare req/s", 14) + pad("drain entries/s", 18) + "× baseline")
            var drainReport: [String: JSONValue] = [:]
            for concurrency in drainConcurrencies {
                let bareCPU = ProcessCPU()
                let bareRate = try await rate(requests, concurrency: concurrency) {
                    let response = try await transport.send(HTTPRequest(
                        method: .post, url: sandbox.url.appendingPathComponent("v1/simulations"), headerFields: [
                            .authorization: "Bearer \(token)", .contentType: "application/json",
                            HTTPField.Name("Idempotency-Key")!: UUID().uuidString.lowercased(),
                        ]), body: Data(#"{"simulation_name":"bare-\#(UUID().uuidString)"}"#.utf8), options: TransportOptions())
                    precondition(response.status == 201)
                }
                let bareCPUMs = bareCPU.milliseconds / Double(requests)
                let journal = try Journal(path: folder.appendingPathComponent("drain-\(concurrency).sqlite").path)
                // Where the time goes, from the library's own timers.
                let timers = MeanTimers()
                var clientConfiguration = JournaledClient.Configuration()
                clientConfiguration.observability.metrics = JournalMetrics(factory: timers)
                let client = JournaledClient(journal: journal, baseURL: sandbox.url, credentials: credentials, transport: transport,
                                             configuration: clientConfiguration)
                for _ in 0..<requests {
                    try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"drain-\#(UUID().uuidString)"}"#))
                }
                var configuration = ReplayEngine.Configuration()
                configuration.limits.concurrency = concurrency
                let engine = ReplayEngine(client: client, configuration: configuration)
                let clock = ContinuousClock()
                let start = clock.now
                let drainCPU = ProcessCPU()
                let summary = try await engine.drain()
                let seconds = (clock.now - start).seconds
                let drainCPUMs = drainCPU.milliseconds / Double(requests)
                precondition(summary.succeeded.count == requests)
                let drainRate = Double(requests) / seconds
                func meanMs(_ label: String, _ dimensions: [(String, String)]) -> Double {
                    timers.meanMilliseconds(label, dimensions)
                }
                let claimMs = meanMs(JournalMetrics.Name.writeDuration, [("operation", "claim")])
                let recordMs = meanMs(JournalMetrics.Name.writeDuration, [("operation", "record")])
                let attemptMs = meanMs(JournalMetrics.Name.attemptDuration, [("endpoint", "POST /v1/simulations"), ("outcome", "success")])
                say(pad(String(concurrency), 14) + pad(String(Int(bareRate)), 14) + pad(String(Int(drainRate)), 18)
                    + pad(format(drainRate / bareRate, digits: 2), 12)
                    + "claim \(format(claimMs)) ms, attempt \(format(attemptMs)) ms, record \(format(recordMs)) ms (means); "
                    + "CPU per request: bare \(format(bareCPUMs)) ms, drain \(format(drainCPUMs)) ms")
                drainReport[String(concurrency)] = .object([
                    "entriesPerSecond": .number(drainRate), "bareRequestsPerSecond": .number(bareRate),
                    "cpuMsPerEntry": .number(drainCPUMs), "bareCpuMsPerRequest": .number(bareCPUMs),
                ])
            }
            report["drain"] = .object(drainReport)
        }

        if runs("paced") {
            // A backlog under a rate limit: 60 entries, 20 per 5 s window. The least time the limit
            // allows is to the start of the third window; the replayer should take little more, and
            // provoke no 429 once it has seen the headers.
            let (entries, limit, window) = (60, 20, Int64(5))
            var limited = PicusSandbox.Configuration.unlimited
            limited.rateLimits = ["POST /v1/simulations": limit]
            limited.rateLimitWindow = .seconds(window)
            let pacedSandbox = try await PicusSandbox.start(configuration: limited)
            let pacedCredentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: pacedSandbox.url)
            let journal = try Journal(path: folder.appendingPathComponent("paced.sqlite").path)
            let client = JournaledClient(journal: journal, baseURL: pacedSandbox.url, credentials: pacedCredentials, transport: transport)
            _ = try await pacedCredentials.accessToken()
            for index in 0..<entries {
                try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"paced-\#(index)"}"#))
            }
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = 8
            let engine = ReplayEngine(client: client, configuration: configuration)
            let start = Date()
            let (done, finish) = AsyncStream<Void>.makeStream()
            let counter = SucceededCounter(target: entries, finish: finish)
            let running = Task { try await engine.run { item in counter.add(item.entry.state == .succeeded) } }
            for await _ in done { break }
            let seconds = Date().timeIntervalSince(start)
            running.cancel()
            _ = try? await running.value
            let startSeconds = start.timeIntervalSince1970
            let firstWindowEnd = (floor(startSeconds / Double(window)) + 1) * Double(window)
            let windowsNeeded = (entries + limit - 1) / limit
            let least = firstWindowEnd - startSeconds + Double(windowsNeeded - 2) * Double(window)
            let refused = await pacedSandbox.receivedRequests().filter { $0.path == "/v1/simulations" && $0.status == 429 }.count
            await pacedSandbox.stop()
            say("")
            say("Paced replay: \(entries) pending POST /v1/simulations under a limit of \(limit) per \(window) s window, concurrency 8")
            say("")
            say(pad("seconds", 10) + pad("least s", 10) + pad("× least", 10) + "429 answers")
            say(pad(format(seconds, digits: 2), 10) + pad(format(least, digits: 2), 10) + pad(format(seconds / least, digits: 2), 10) + String(refused))
            report["paced"] = .object([
                "entries": .integer(Int64(entries)), "limit": .integer(Int64(limit)), "windowSeconds": .integer(window),
                "seconds": .number(seconds), "leastSeconds": .number(least), "responses429": .integer(Int64(refused)),
            ])
        }

        if runs("journal") {
            say("")
            say("The journal alone, no HTTP: write-ahead insert + attempt record per request (\(requests) requests),")
            say("against the same statements on SQLite's C API (same schema and pragmas, prepared, one thread)")
            say("")
            say(pad("durability", 14) + pad("journal ms", 12) + pad("p50 ms", 10) + pad("p99 ms", 10) + pad("raw C ms", 10)
                + pad("p50 ms", 10) + pad("p99 ms", 10) + "× raw")
            var writeAheadReport: [String: JSONValue] = [:]
            for durability in Journal.Configuration.Durability.allCases {
                var configuration = Journal.Configuration()
                configuration.durability = durability
                let journal = try Journal(path: folder.appendingPathComponent("alone-\(durability.rawValue).sqlite").path,
                                          configuration: configuration)
                let rawPath = folder.appendingPathComponent("raw-\(durability.rawValue).sqlite").path
                _ = try Journal(path: rawPath, configuration: configuration)
                let raw = try RawSQLite(path: rawPath, synchronous: durability == .full ? "FULL" : "NORMAL")
                // Interleaved, one request of each in turn: the disk's and the neighbours' moods over
                // the run fall on both alike.
                let (timings, rawTimings) = try await measurePair(requests, {
                    let entry = try await journal.insert(NewEntry(
                        method: "GET", path: "/v1/agents", headers: ["authorization": "Bearer <redacted>"], state: .inFlight,
                        leaseOwner: "bench", leaseExpiresAt: Date().addingTimeInterval(60), createdAt: Date()))
                    _ = try await journal.record(
                        NewAttempt(number: 1, startedAt: Date(), durationMs: 1, status: 200, outcome: .success,
                                   responseHeaders: ["content-type": "application/json"]),
                        forEntry: entry.id, leaseOwner: "bench", then: EntryTransition(state: .succeeded), base: entry)
                }, {
                    try raw.writeAheadAndRecord(uuid: UUID().uuidString.lowercased(), now: Int64(Date().timeIntervalSince1970 * 1000))
                })
                say(pad(durability.rawValue, 14) + pad(format(timings.mean), 12) + pad(format(timings.percentile(0.5)), 10)
                    + pad(format(timings.percentile(0.99)), 10) + pad(format(rawTimings.mean), 10)
                    + pad(format(rawTimings.percentile(0.5)), 10) + pad(format(rawTimings.percentile(0.99)), 10)
                    + format(timings.mean / rawTimings.mean, digits: 2))
                writeAheadReport[durability.rawValue] = .object([
                    "journalMs": .number(timings.mean), "rawSQLiteMs": .number(rawTimings.mean),
                    "journalP50Ms": .number(timings.percentile(0.5)), "rawSQLiteP50Ms": .number(rawTimings.percentile(0.5)),
                ])
            }
            report["writeAhead"] = .object(writeAheadReport)
        }
        await sandbox.stop()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
    }

    /// Requests per second of `count` calls spread over `concurrency` loops.
    static func rate(_ count: Int, concurrency: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let share = count / concurrency + (worker < count % concurrency ? 1 : 0)
                group.addTask { for _ in 0..<share { try await body() } }
            }
            try await group.waitForAll()
        }
        return Double(count) / (clock.now - start).seconds
    }

    struct Timings {
        var milliseconds: [Double]
        var mean: Double { milliseconds.reduce(0, +) / Double(milliseconds.count) }
        func percentile(_ p: Double) -> Double {
            let sorted = milliseconds.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
    }

    /// Runs `body` `count` times after a warm-up of a tenth as many, timing each run.
    static func measure(_ count: Int, _ body: @Sendable () async throws -> Void) async throws -> Timings {
        for _ in 0..<max(10, count / 10) { try await body() }
        let clock = ContinuousClock()
        var milliseconds: [Double] = []
        milliseconds.reserveCapacity(count)
        for _ in 0..<count {
            let start = clock.now
            try await body()
            let elapsed = clock.now - start
            milliseconds.append(elapsed.seconds * 1000)
        }
        return Timings(milliseconds: milliseconds)
    }

    /// Times two bodies in turn, `count` times each, after a warm-up of both.
    static func measurePair(
        _ count: Int, _ first: @Sendable () async throws -> Void, _ second: @Sendable () async throws -> Void
    ) async throws -> (Timings, Timings) {
        for _ in 0..<max(10, count / 10) {
            try await first()
            try await second()
        }
        let clock = ContinuousClock()
        var firstMilliseconds: [Double] = [], secondMilliseconds: [Double] = []
        for _ in 0..<count {
            var start = clock.now
            try await first()
            firstMilliseconds.append((clock.now - start).seconds * 1000)
            start = clock.now
            try await second()
            secondMilliseconds.append((clock.now - start).seconds * 1000)
        }
        return (Timings(milliseconds: firstMilliseconds), Timings(milliseconds: secondMilliseconds))
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0)
    }

    static func format(_ value: Double, digits: Int = 3) -> String {
        String(format: "%.\(digits)f", value)
    }
}

/// The CPU time this process spent since this value was made, all threads and the kernel's work for
/// them: the sandbox's share included, as on the wall clock. Where the wall clock says how fast, this
/// says how much of the two cores each request took.
struct ProcessCPU {
    private let start = Self.now()

    var milliseconds: Double { Self.now() - start }

    private static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func ms(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        return ms(usage.ru_utime) + ms(usage.ru_stime)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Counts succeeded entries and says when the target is reached.
final class SucceededCounter: @unchecked Sendable {
    // `lock` guards `count`.
    private let lock = NSLock()
    private var count = 0
    private let target: Int
    private let finish: AsyncStream<Void>.Continuation

    init(target: Int, finish: AsyncStream<Void>.Continuation) {
        self.target = target
        self.finish = finish
    }

    func add(_ succeeded: Bool) {
        guard succeeded else { return }
        let reached = lock.withLock {
            count += 1
            return count == target
        }
        if reached { finish.yield() }
    }
}
