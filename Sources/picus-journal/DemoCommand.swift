import ArgumentParser
import Foundation
import PicusJournal
import PicusSandbox

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole story on an in-process sandbox: failures journaled, an outage and a rate limit queued, then replayed.",
        discussion: """
            Nothing leaves this machine: the Picus API is emulated on 127.0.0.1. The journal is a new file \
            in a temporary folder unless --db names one. It takes a few seconds.

            Example:
              swift run picus-journal demo
            """)

    @Option(name: .customLong("db"), help: ArgumentHelp("The journal to write. Default: a new one in a temporary folder.", valueName: "path"))
    var path: String?

    func run() async throws {
        try await reportingErrors {
            if let path { try JournalOptions.refuseAnythingButAFile(at: path) }
            let path = path ?? FileManager.default.temporaryDirectory
                .appendingPathComponent("picus-journal-demo-\(UUID().uuidString.prefix(8))")
                .appendingPathComponent("journal.sqlite").path
            let sandbox = try await PicusSandbox.start()
            do {
                try await tell(path: path, sandbox: sandbox)
                await sandbox.stop()
            } catch {
                await sandbox.stop()
                throw error
            }
        }
    }

    private func tell(path: String, sandbox: PicusSandbox) async throws {
        let journal = try Journal(path: path)
        let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)
        let client = JournaledClient(journal: journal, baseURL: sandbox.url, credentials: credentials)

        say("""
            picus-journal demo
              A Picus API sandbox listens on \(sandbox.url.absoluteString) (this machine only).
              Every request is written to the journal before it is sent: \(path)

            1. An ordinary workload. Successes are kept; errors the API calls permanent are decoded and kept too.
            """)
        step(try await client.send(.get("/v1/agents")))
        step(try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly-ransomware","agent_id":1,"template_id":2}"#)))
        step(try await client.send(.get("/v1/simulations?limit=1000")))
        step(try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly-ransomware"}"#)))
        step(try await client.send(.get("/v1/simulations/999")))
        step(try await client.send(.get("/v1/mitigation/devices")))

        say("\n2. The API has an outage: it answers 503 with Retry-After: 2. Nothing is lost — each request waits in the journal.")
        await sandbox.addFault(SandboxFault(status: 503, count: 3, path: "/v1/simulations*", retryAfter: "2"))
        for name in ["weekly-exfiltration", "lateral-movement"] {
            step(try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"\#(name)","agent_id":2}"#)))
        }
        step(try await client.send(.post("/v1/simulations/1/simulate-now", json: "{}")))
        await sandbox.addFault(SandboxFault(status: 504, count: 1, path: "/v1/templates", html: true))
        step(try await client.send(.get("/v1/templates")))

        say("\n3. A rate limit: 429 with X-Ratelimit-Reset. The entry — and its whole endpoint — waits for the reset.")
        let reset = Int(Date().timeIntervalSince1970) + 2
        await sandbox.addFault(SandboxFault(status: 429, count: 1, path: "/v1/agents",
                                            headers: ["X-Ratelimit-Limit": "100", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": String(reset)]))
        step(try await client.send(.get("/v1/agents")))

        say("\n4. The access token expires: a 401, one token refresh, and the request goes through.")
        await sandbox.expireAccessTokens()
        step(try await client.send(.get("/v1/integrations")))

        say("\n5. The outage is over. The replay engine sends each queued entry when the server allows it, with its own Idempotency-Key.")
        let engine = ReplayEngine(client: client)
        let deadline = Date().addingTimeInterval(45)
        var replayedIDs = Set<Int64>()
        while (try await journal.countsByState())[.queued, default: 0] > 0, Date() < deadline {
            if let next = try await journal.nextWakeDate(), next > Date() {
                say("   … waiting \(String(format: "%.1f", next.timeIntervalSinceNow)) s, until the time the server asked for")
                try await Task.sleep(for: .milliseconds(Int64(next.timeIntervalSinceNow * 1000) + 20))
            }
            for item in try await engine.drain().items {
                replayedIDs.insert(item.entry.id)
                say("   • \(item.summary)")
            }
        }

        let entries = try await journal.entries(matching: JournalQuery())
        let counts = try await journal.countsByState()
        let received = await sandbox.receivedRequests()
        let replayedKeys = Set(entries.filter { replayedIDs.contains($0.id) && $0.state == .succeeded }.map { $0.uuid.uuidString.lowercased() })
        let deliveries = received.filter { replayedKeys.contains($0.idempotencyKey ?? "") && (200..<300).contains($0.status) }
        say("""

            6. The history — what `picus-journal list --db \(path)` prints:

            \(EntryTable(entries: entries, colors: Terminal.usesColor).render())
            \(counts[.succeeded, default: 0]) succeeded, \(counts[.failed, default: 0]) failed for good, \(counts[.queued, default: 0]) still queued.
            The sandbox accepted each of the \(replayedKeys.count) replayed entries exactly \(deliveries.count == replayedKeys.count ? "once" : "\(deliveries.count) times in all"), \
            matched by Idempotency-Key. No token was written to disk.
            """)
        if let replayed = entries.first(where: { replayedIDs.contains($0.id) && $0.method == "POST" }) {
            say("One entry's whole history — `picus-journal show \(replayed.id)`:\n")
            say(EntryDetail(entry: replayed, attempts: try await journal.attempts(ofEntry: replayed.id)).render())
        }
        // `swift run` leaves the binary in .build, not on PATH: name it the way that works from here.
        let command = (Bundle.main.executablePath ?? "").contains("/.build/") ? "swift run picus-journal" : "picus-journal"
        say("Try: \(command) list --status 422 --format json --db \(path)")
    }

    private func step(_ delivery: Delivery) {
        say("   • \(delivery.summary)")
    }
}
