import Foundation
import HTTPTypes
import PicusJournal
import PicusSandbox

/// The benchmark table: each scenario against a baseline measured in the same run.
///
/// Usage: picus-journal-bench [--requests N]
@main
struct Benchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        var requests = 2000
        if let index = arguments.firstIndex(of: "--requests"), index + 1 < arguments.count, let value = Int(arguments[index + 1]) {
            requests = value
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("picus-journal-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let sandbox = try await PicusSandbox.start(configuration: .unlimited)
        let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)
        let token = try await credentials.accessToken()
        let transport = DefaultTransport.shared
        let url = sandbox.url.appendingPathComponent("v1/agents")

        print("picus-journal benchmark: \(requests) sequential GET /v1/agents against the sandbox on 127.0.0.1")
        print("")

        @Sendable func bareGET(_ transport: any HTTPTransport) async throws {
            let response = try await transport.send(HTTPRequest(method: .get, url: url, headerFields: [
                .authorization: "Bearer \(token)", .accept: "application/json",
                HTTPField.Name("Idempotency-Key")!: UUID().uuidString.lowercased(),
            ]), body: nil, options: TransportOptions())
            precondition(response.status == 200)
        }
        let bare = try await measure(requests) { try await bareGET(transport) }
        let urlSession = URLSessionTransport()
        let bareURLSession = try await measure(requests) { try await bareGET(urlSession) }

        var rows = [("bare \(type(of: transport)) (baseline)", bare), ("bare URLSessionTransport", bareURLSession)]
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
        }

        print(pad("scenario", 34) + pad("mean ms", 10) + pad("p50 ms", 10) + pad("p99 ms", 10) + pad("req/s", 10) + "× baseline")
        for (name, timings) in rows {
            print(pad(name, 34) + pad(format(timings.mean), 10) + pad(format(timings.percentile(0.5)), 10)
                  + pad(format(timings.percentile(0.99)), 10) + pad(String(Int(1000 / timings.mean)), 10)
                  + format(timings.mean / bare.mean, digits: 2))
        }
        print("")
        print("Overhead of the journal per request (mean): " + rows.filter { $0.0.hasPrefix("journaled") }.map {
            "\($0.0.replacingOccurrences(of: "journaled, ", with: "")): +\(format($0.1.mean - bare.mean)) ms"
        }.joined(separator: ", "))

        print("")
        print("Replay drain: \(requests) pending POST /v1/simulations, durability full, no rate limit")
        print("")
        print(pad("concurrency", 14) + pad("bare req/s", 14) + pad("drain entries/s", 18) + "× baseline")
        for concurrency in [1, 4, 8] {
            let bareRate = try await rate(requests, concurrency: concurrency) {
                let response = try await transport.send(HTTPRequest(
                    method: .post, url: sandbox.url.appendingPathComponent("v1/simulations"), headerFields: [
                        .authorization: "Bearer \(token)", .contentType: "application/json",
                        HTTPField.Name("Idempotency-Key")!: UUID().uuidString.lowercased(),
                    ]), body: Data(#"{"simulation_name":"bare-\#(UUID().uuidString)"}"#.utf8), options: TransportOptions())
                precondition(response.status == 201)
            }
            let journal = try Journal(path: folder.appendingPathComponent("drain-\(concurrency).sqlite").path)
            let client = JournaledClient(journal: journal, baseURL: sandbox.url, credentials: credentials, transport: transport)
            for _ in 0..<requests {
                try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"drain-\#(UUID().uuidString)"}"#))
            }
            var configuration = ReplayEngine.Configuration()
            configuration.concurrency = concurrency
            let engine = ReplayEngine(client: client, configuration: configuration)
            let clock = ContinuousClock()
            let start = clock.now
            let summary = try await engine.drain()
            let seconds = (clock.now - start).seconds
            precondition(summary.succeeded.count == requests)
            let drainRate = Double(requests) / seconds
            print(pad(String(concurrency), 14) + pad(String(Int(bareRate)), 14) + pad(String(Int(drainRate)), 18)
                  + format(drainRate / bareRate, digits: 2))
        }

        print("")
        print("The journal alone, no HTTP: write-ahead insert + attempt record per request (\(requests) requests)")
        print("")
        print(pad("durability", 14) + pad("mean ms", 10) + pad("p50 ms", 10) + pad("p99 ms", 10) + "share of the journaled request")
        for durability in Journal.Configuration.Durability.allCases {
            var configuration = Journal.Configuration()
            configuration.durability = durability
            let journal = try Journal(path: folder.appendingPathComponent("alone-\(durability.rawValue).sqlite").path,
                                      configuration: configuration)
            let timings = try await measure(requests) {
                let entry = try await journal.insert(NewEntry(
                    method: "GET", path: "/v1/agents", headers: ["authorization": "Bearer <redacted>"], state: .inFlight,
                    leaseOwner: "bench", leaseExpiresAt: Date().addingTimeInterval(60), createdAt: Date()))
                _ = try await journal.record(
                    NewAttempt(number: 1, startedAt: Date(), durationMs: 1, status: 200, outcome: .success,
                               responseHeaders: ["content-type": "application/json"]),
                    forEntry: entry.id, leaseOwner: "bench", then: EntryTransition(state: .succeeded))
            }
            let journaled = rows.first { $0.0.hasSuffix(durability.rawValue) }?.1.mean ?? .nan
            print(pad(durability.rawValue, 14) + pad(format(timings.mean), 10) + pad(format(timings.percentile(0.5)), 10)
                  + pad(format(timings.percentile(0.99)), 10) + format(timings.mean / journaled, digits: 2))
        }
        await sandbox.stop()
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
            milliseconds.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return Timings(milliseconds: milliseconds)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0)
    }

    static func format(_ value: Double, digits: Int = 3) -> String {
        String(format: "%.\(digits)f", value)
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
