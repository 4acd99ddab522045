import Foundation
@testable import PicusJournal
import Testing

/// Fills the file system at `folder` until a write fails for want of room.
func fillDisk(_ folder: String) {
    guard let handle = FileManager.default.createFile(atPath: folder + "/filler", contents: nil) ? FileHandle(forWritingAtPath: folder + "/filler") : nil
    else { return }
    defer { try? handle.close() }
    let block = Data(repeating: 0x66, count: 4096)
    while (try? handle.write(contentsOf: block)) != nil {}
    // Then the inodes: a file system can run out of those first.
    var index = 0
    while FileManager.default.createFile(atPath: "\(folder)/inode-\(index)", contents: nil), index < 100_000 { index += 1 }
}

/// A full disk at the worst moments: after a 2xx arrived, and with no writer open.
@Suite(.enabled(if: SmallDisk.isAvailable, "needs to mount a tmpfs (root on Linux)"))
struct FullDiskOutcomeTests {
    @Test func a2xxThatCannotBeRecordedOnAFullDiskIsNeverSentAgain() async throws {
        let folder = try TemporaryFolder()
        let disk = folder.path("disk")
        try SmallDisk.mount(at: disk, kilobytes: 1024)
        defer { SmallDisk.unmount(disk) }
        let server = try MisbehavingServer { _ in [.waitForGate, MisbehavingServer.response("201 Created", body: #"{"id":1}"#)] }
        defer { server.stop() }
        let path = disk + "/journal.sqlite"
        var configuration = JournaledClient.Configuration()
        configuration.leaseDuration = .milliseconds(300)
        let client = JournaledClient(journal: try Journal(path: path), baseURL: server.url, configuration: configuration)
        let sending = Task { try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"once"}"#)) }
        await server.waitForRequests(1)
        // The 201 is on its way; the disk fills before it is recorded.
        fillDisk(disk)
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
        for name in try FileManager.default.contentsOfDirectory(atPath: disk) where name == "filler" || name.hasPrefix("inode-") {
            try FileManager.default.removeItem(atPath: disk + "/" + name)
        }
        let summary = try await ReplayEngine(client: client).drain()
        #expect(summary.recovered.count == 1)
        let entry = try #require(try await client.journal.entries(matching: JournalQuery()).first)
        #expect(entry.state == .succeeded)
        #expect(server.received.count == 1, "the 201 was sent again")
    }

    @Test func readersWorkOnAFullDiskWithNoWriterOpen() async throws {
        let folder = try TemporaryFolder()
        let disk = folder.path("disk")
        try SmallDisk.mount(at: disk, kilobytes: 1024)
        defer { SmallDisk.unmount(disk) }
        let server = try MisbehavingServer { _ in [MisbehavingServer.response("422 Unprocessable Entity", body: #"{"message":"no"}"#)] }
        defer { server.stop() }
        let db = disk + "/journal.sqlite"
        for _ in 0..<3 {
            let result = try await runCLI(["request", "GET", "/v1/agents", "--db", db, "--base-url", server.url.absoluteString], in: folder)
            #expect(result.status == 1)
        }
        #expect(!FileManager.default.fileExists(atPath: db + "-shm"), "a writer is still open")
        fillDisk(disk)
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
