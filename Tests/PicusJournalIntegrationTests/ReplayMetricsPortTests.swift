import Foundation
@testable import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// `replay --watch --metrics HOST:PORT` on a port in use fails before it replays anything (issue 19:
/// it replayed entries, then failed), in one line of our words (NIO's own had a stray parenthesis:
/// `bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`).
@Suite(.timeLimit(.minutes(2)))
struct ReplayMetricsPortTests {
    @Test func aMetricsPortInUseFailsBeforeAnyEntryIsReplayed() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            try await enqueueSimulations(20, named: "held", on: client)
            let db = client.journal.path
            // The sandbox listens on its port: the metrics endpoint cannot have it.
            let address = "127.0.0.1:\(sandbox.port)"

            let result = try await runCLI(["replay", "--watch", "--db", db, "--metrics", address],
                                          environment: ["PICUS_API_URL": sandbox.url.absoluteString,
                                                        "PICUS_REFRESH_TOKEN": "sandbox-refresh-token"], in: folder)

            #expect(result.status == 1)
            // Exactly this line, parentheses balanced.
            #expect(result.stderr == "picus-journal: error: cannot serve metrics on \(address): Address already in use; pick a free port, or 0 for any\n")
            #expect(await sandbox.receivedRequests().isEmpty, "nothing was sent, not even the token exchange")
            let states = try await client.journal.countsByState()
            #expect(states == [.pending: 20])
            #expect(!result.stdout.contains("Replaying"), "\(result.stdout)")
        }
    }
}
