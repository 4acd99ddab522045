import Foundation
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
        let transport = URLSessionTransport()
        let url = sandbox.url.appendingPathComponent("v1/agents")

        print("picus-journal benchmark: \(requests) sequential GET /v1/agents against the sandbox on 127.0.0.1")
        print("")

        let bare = try await measure(requests) {
            let response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: [
                "Authorization": "Bearer \(token)", "Accept": "application/json",
                "Idempotency-Key": UUID().uuidString.lowercased(),
            ]))
            precondition(response.status == 200)
        }

        var rows = [("bare transport (baseline)", bare)]
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
        await sandbox.stop()

        print(pad("scenario", 34) + pad("mean ms", 10) + pad("p50 ms", 10) + pad("p99 ms", 10) + pad("req/s", 10) + "× baseline")
        for (name, timings) in rows {
            print(pad(name, 34) + pad(format(timings.mean), 10) + pad(format(timings.percentile(0.5)), 10)
                  + pad(format(timings.percentile(0.99)), 10) + pad(String(Int(1000 / timings.mean)), 10)
                  + format(timings.mean / bare.mean, digits: 2))
        }
        print("")
        print("Overhead of the journal per request (mean): " + rows.dropFirst().map {
            "\($0.0.replacingOccurrences(of: "journaled, ", with: "")): +\(format($0.1.mean - bare.mean)) ms"
        }.joined(separator: ", "))
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
