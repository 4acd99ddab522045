import Foundation
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// The journal, its client and its replay engine read one injected clock: a journal whose clock is
/// set in 2031 stamps 2031, and what is due follows that clock, not the system's.
struct JournalClockTests {
    @Test func theJournalItsClientAndItsReplayerReadTheInjectedClock() async throws {
        let folder = try TemporaryFolder()
        let start = Date(timeIntervalSince1970: 1_925_000_000)  // 2031
        let clock = ManualClock(start)
        var configuration = Journal.Configuration()
        configuration.clock = clock.journalClock
        let journal = try Journal(path: folder.path("journal.sqlite"), configuration: configuration)
        let server = try MisbehavingServer { _ in
            [MisbehavingServer.response("503 Service Unavailable", headers: ["Retry-After": "60"], body: "{}")]
        }
        defer { server.stop() }
        let client = JournaledClient(journal: journal, baseURL: server.url)

        let delivery = try await client.send(.get("/v1/agents"))

        #expect(delivery.entry.state == .queued)
        #expect(delivery.entry.createdAt == start)
        #expect(delivery.entry.notBefore == start.addingTimeInterval(60))
        #expect(try await journal.attempts(ofEntry: delivery.entry.id).first?.startedAt == start)
        let engine = ReplayEngine(client: client)
        #expect(try await engine.plan().isEmpty, "due before the server's time, by the journal's clock")
        clock.advance(by: .seconds(61))
        #expect(try await engine.plan().map(\.id) == [delivery.entry.id])
        #expect(try await journal.queueSnapshot().oldestDueAge == 1)
    }
}
