import ArgumentParser
import Foundation
import PicusJournal
import PicusSandbox

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Journal a scripted mix of successes and failures against an in-process sandbox, then show the history.",
        discussion: """
            Nothing leaves this machine: the Picus API is emulated on 127.0.0.1. The journal is a new file \
            in a temporary folder unless --db names one.

            Example:
              swift run picus-journal demo
            """)

    @Option(name: .customLong("db"), help: ArgumentHelp("The journal to write. Default: a new one in a temporary folder.", valueName: "path"))
    var path: String?

    func run() async throws {
        try await reportingErrors {
            let path = path ?? FileManager.default.temporaryDirectory
                .appendingPathComponent("picus-journal-demo-\(UUID().uuidString.prefix(8))")
                .appendingPathComponent("journal.sqlite").path
            let sandbox = try await PicusSandbox.start()
            defer { Task { await sandbox.stop() } }
            let journal = try Journal(path: path)
            let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)
            let client = JournaledClient(journal: journal, baseURL: sandbox.url, credentials: credentials)

            say("""
                picus-journal demo
                  A Picus API sandbox is listening on \(sandbox.url.absoluteString) (this machine only).
                  Every request below is written to the journal before it is sent:
                  \(path)

                """)

            step("Read the agents: a plain success.", try await client.send(.get("/v1/agents")))
            step("Create a simulation: a success with a body.",
                           try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly-ransomware","agent_id":1,"template_id":2}"#)))
            step("Ask for 1000 simulations, over the maximum of 50: Picus answers 422 with its reasons.",
                           try await client.send(.get("/v1/simulations?limit=1000")))
            step("Create the same simulation again: a 400 with an error_code.",
                           try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly-ransomware"}"#)))
            step("Read a simulation that does not exist: 404, failed for good.", try await client.send(.get("/v1/simulations/999")))
            step("Call the deprecated v1 devices endpoint: 410.", try await client.send(.get("/v1/mitigation/devices")))

            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations", retryAfter: "30"))
            step("The API has an outage (503, Retry-After: 30): the request is kept, queued for replay.",
                           try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"weekly-exfiltration","agent_id":2}"#)))
            await sandbox.addFault(SandboxFault(status: 504, count: 1, html: true))
            step("A gateway times out with an HTML page: decoded as html, queued.",
                           try await client.send(.get("/v1/templates")))
            await sandbox.addFault(SandboxFault(status: 429, count: 1, headers: ["X-Ratelimit-Limit": "100", "X-Ratelimit-Remaining": "0",
                                                                                 "X-Ratelimit-Reset": String(Int(Date().timeIntervalSince1970) + 60)]))
            step("A rate limit (429 with X-Ratelimit-Reset): queued until the reset.", try await client.send(.get("/v1/agents")))
            await sandbox.expireAccessTokens()
            step("The access token has expired: a 401, one token refresh, then a success.",
                           try await client.send(.get("/v1/integrations")))

            let entries = try await journal.entries(matching: JournalQuery())
            let counts = try await journal.countsByState()
            say("""

                The journal's history (picus-journal list --db \(path)):

                \(EntryTable(entries: entries, colors: Terminal.usesColor).render())
                \(counts[.succeeded, default: 0]) succeeded, \(counts[.failed, default: 0]) failed for good, \
                \(counts[.queued, default: 0]) queued for replay. No token was written to disk.
                Look closer:  picus-journal show \(entries.first?.id ?? 1) --db \(path)
                              picus-journal list --status 422 --format json --db \(path)
                """)
        }
    }

    private func step(_ what: String, _ delivery: Delivery) {
        say("• \(what)\n    \(delivery.entry.method) \(delivery.entry.target) → \(delivery.summary)")
    }

    private func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
