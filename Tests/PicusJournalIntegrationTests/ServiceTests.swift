import Foundation
import Logging
import PicusJournal
import PicusSandbox
import ServiceLifecycle
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// The replay engine as a swift-service-lifecycle `Service`.
@Suite(.timeLimit(.minutes(1)))
struct ServiceTests {
    @Test func gracefulShutdownMidReplayRecordsEveryOutcomeUnderWay() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            for index in 0..<40 {
                try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"service-\#(index)"}"#))
            }
            await sandbox.setLatency(.milliseconds(50))
            let group = ServiceGroup(services: [ReplayEngine(client: client)], gracefulShutdownSignals: [],
                                     logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
            let running = Task { try await group.run() }

            _ = await sandbox.receivedRequests { $0.filter { $0.path == "/v1/simulations" }.count >= 6 }
            await group.triggerGracefulShutdown()
            try await running.value

            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            let counts = try await client.journal.countsByState()
            #expect(counts[.inFlight] == nil, "an outcome under way was not recorded: \(counts)")
            #expect(counts[.succeeded] == received.count, "every request the server saw is recorded: \(counts)")
            #expect((counts[.pending] ?? 0) > 0, "nothing more was claimed after the shutdown: \(counts)")
        }
    }
}

/// What the CLI logs, and how.
struct LoggingTests {
    @Test func logLinesCarryTheEntryAndAreJSONWhenAsked() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let environment = ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token"]
            let db = folder.path("journal.sqlite")

            let quiet = try await runCLI(["request", "GET", "/v1/agents", "--db", db], environment: environment, in: folder)
            let json = try await runCLI(["--log-level", "debug", "--log-format", "json", "request", "GET", "/v1/agents", "--db", db],
                                        environment: environment, in: folder)
            let bad = try await runCLI(["request", "GET", "/v1/agents", "--log-level", "loud", "--db", db], environment: environment, in: folder)

            #expect(quiet.stderr.split(separator: "\n").count == 1, "by default only the outcome line: \(quiet.stderr)")
            let events = json.stderr.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
            }
            let recorded = try #require(events.first { $0["message"] == "attempt recorded" }, "\(json.stderr)")
            #expect(recorded["picus.entry.id"] == "2")
            #expect(recorded["picus.endpoint"] == "GET /v1/agents")
            #expect(recorded["http.response.status_code"] == "200")
            #expect(recorded["picus.entry.uuid"]?.count == 36)
            #expect(!json.stderr.contains("sandbox-refresh-token"))
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("--log-level takes one of"))
        }
    }
}

/// `replay --format ndjson`: one list-form object per replayed entry, for scripts.
struct ReplayNDJSONTests {
    @Test func replayPrintsOneJSONObjectPerReplayedEntry() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let entries = [try await client.enqueue(.get("/v1/agents")), try await client.enqueue(.get("/v1/templates"))]
            let environment = ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token",
                               "PICUS_JOURNAL_DB": folder.path("journal.sqlite")]

            let result = try await runCLI(["replay", "--format", "ndjson"], environment: environment, in: folder)

            #expect(result.status == 0, "\(result.stderr)")
            let objects = try result.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(Set(objects.compactMap { $0["id"] as? Int }) == Set(entries.map { Int($0.id) }))
            #expect(objects.allSatisfy { $0["state"] as? String == "succeeded" })
            #expect(result.stderr.contains("Replayed 2"))
        }
    }
}
