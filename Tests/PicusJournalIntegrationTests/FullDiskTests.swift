import Foundation
@testable import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// A journal on a disk that fills up: one clear line, exit 1, and everything already journaled kept;
/// a 2xx that arrived as it filled is never sent again; readers go on reading.
@Suite(.enabled(if: SmallDisk.isAvailable, "needs to mount a tmpfs (root on Linux)"))
struct FullDiskTests {
    @Test func aFullDiskGetsOneLineAndLosesNothingAlreadyJournaled() async throws {
        let folder = try TemporaryFolder()
        let disk = try SmallDisk.Mounted(kilobytes: 512)
        defer { withExtendedLifetime(disk) {} }
        let db = disk.path + "/journal.sqlite"
        try await withSandbox(.unlimited) { sandbox in
            let environment = ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token"]
            let padding = String(repeating: "x", count: 3000)
            var succeeded = 0
            var failure: CommandResult?
            for index in 0..<600 {
                let result = try await runCLI(["request", "POST", "/v1/simulations", "--db", db, "--data",
                                               #"{"simulation_name":"\#(padding)-\#(index)"}"#], environment: environment, in: folder)
                guard result.status == 0 else {
                    failure = result
                    break
                }
                succeeded += 1
            }

            let full = try #require(failure, "the disk never filled")
            #expect(full.status == 1)
            #expect(full.stderr.split(separator: "\n").count == 1)
            // The disk fills on the write-ahead (nothing sent) or on the outcome's record (sent, and left
            // for the next replay to record): either way one line that says so.
            #expect(full.stderr.contains("disk is full") || full.stderr.contains("the disk was full"), "\(full.stderr)")
            #expect(!full.stderr.contains("Fatal error"))
            #expect(succeeded > 10)

            let list = try await runCLI(["list", "--db", db, "--state", "succeeded", "--limit", "1000", "--format", "json"], in: folder)
            #expect(list.status == 0, "\(list.stderr)")
            let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            #expect(array.count == succeeded)
            let doctor = try await runCLI(["doctor", "--db", db], in: folder)
            #expect(doctor.stdout.contains("ok  integrity"))
        }
    }

    @Test func a2xxThatCannotBeRecordedOnAFullDiskIsNeverSentAgain() async throws {
        let disk = try SmallDisk.Mounted(kilobytes: 1024)
        defer { withExtendedLifetime(disk) {} }
        let server = try MisbehavingServer { _ in [.waitForGate, MisbehavingServer.response("201 Created", body: #"{"id":1}"#)] }
        defer { server.stop() }
        let path = disk.path + "/journal.sqlite"
        var configuration = JournaledClient.Configuration()
        configuration.leases.duration = .milliseconds(300)
        let client = JournaledClient(journal: try Journal(path: path), baseURL: server.url, configuration: configuration)
        let sending = Task { try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"once"}"#)) }
        await server.waitForRequests(1)
        // The 201 is on its way; the disk fills before it is recorded.
        disk.fill()
        server.openGate()
        let failure = await sending.result
        guard case .failure(let error) = failure else {
            Issue.record("the outcome was recorded on a full disk: the test did not fill it")
            return
        }
        #expect("\(error)".contains("the disk was full"), "\(error)")
        // The sender left its note in the space it reserved, though the disk was full.
        let owners = try FileManager.default.contentsOfDirectory(atPath: path + "-owners")
        let notes = try owners.map { try Data(contentsOf: URL(fileURLWithPath: path + "-owners/" + $0)) }
        #expect(notes.contains { $0.contains("\t201\t") }, "no note of the 201")

        // Room again: the replay records the 201 from the note and sends nothing.
        try disk.free()
        let summary = try await ReplayEngine(client: client).drain()
        #expect(summary.recovered.count == 1)
        let entry = try #require(try await client.journal.entries(matching: JournalQuery()).first)
        #expect(entry.state == .succeeded)
        #expect(server.received.count == 1, "the 201 was sent again")
    }

    @Test func readersWorkOnAFullDiskWithNoWriterOpen() async throws {
        let folder = try TemporaryFolder()
        let disk = try SmallDisk.Mounted(kilobytes: 1024)
        defer { withExtendedLifetime(disk) {} }
        let server = try MisbehavingServer { _ in [MisbehavingServer.response("422 Unprocessable Entity", body: #"{"message":"no"}"#)] }
        defer { server.stop() }
        let db = disk.path + "/journal.sqlite"
        for _ in 0..<3 {
            let result = try await runCLI(["request", "GET", "/v1/agents", "--db", db, "--base-url", server.url.absoluteString], in: folder)
            #expect(result.status == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: db + "-shm"), "a writer is still open")
        disk.fill()
        for arguments in [["list"], ["show", "1"], ["stats"], ["export", "--format", "ndjson"], ["doctor"]] {
            let result = try await runCLI(arguments + ["--db", db], in: folder)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        let list = try await runCLI(["list", "--db", db, "--format", "json"], in: folder)
        #expect(list.stdout.contains("\"status\" : 422"), "\(list.stdout.prefix(300))")
        // A write says what is wrong in words a person acts on.
        let write = try await runCLI(["request", "GET", "/v1/agents", "--db", db, "--base-url", server.url.absoluteString], in: folder)
        #expect(write.status == 1)
        #expect(write.stderr.contains("the disk is full") || write.stderr.contains("the disk was full"), "\(write.stderr)")
    }
}
