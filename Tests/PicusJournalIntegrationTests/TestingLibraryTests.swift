import Foundation
import PicusJournal
import PicusJournalTesting
import PicusSandbox
import Testing

/// `PicusJournalTesting` as an agent's own tests use it, through its public API alone: a temporary
/// journal, a manual clock, the sandbox. A server's minute-long `Retry-After` passes in no time.
struct TestingLibraryTests {
    @Test func anAgentsTestWaitsOutARetryAfterOnAManualClock() async throws {
        let clock = ManualClock()
        let scratch = try TemporaryJournal(clock: clock)
        try await PicusSandbox.withRunning { sandbox in
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations", retryAfter: "60"))
            let client = sandbox.client(on: scratch.journal)
            let first = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#))
            #expect(first.entry.state == .queued)
            #expect(first.entry.createdAt == clock.now)

            let engine = ReplayEngine(client: client)
            #expect(try await engine.plan().isEmpty, "not due before the server's minute has passed")
            clock.advance(by: .seconds(61))
            let summary = try await engine.drain()
            #expect(summary.succeeded.count == 1)
            #expect(try await scratch.journal.entry(id: first.entry.id)?.state == .succeeded)
        }
        let folder = scratch.folder.url
        #expect(FileManager.default.fileExists(atPath: folder.path))
        _ = consume scratch
        #expect(!FileManager.default.fileExists(atPath: folder.path), "the temporary journal's folder outlived it")
    }
}
