import Foundation
import Logging
import PicusJournal
import PicusSandbox
import ServiceLifecycle
import Testing

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
