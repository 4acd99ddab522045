import Foundation
import PicusJournal
import PicusSandbox
import Testing

/// A journal on a disk that fills up: one clear line, exit 1, and everything already journaled kept.
@Suite(.enabled(if: SmallDisk.isAvailable, "needs to mount a tmpfs (root on Linux)"))
struct FullDiskTests {
    @Test func aFullDiskGetsOneLineAndLosesNothingAlreadyJournaled() async throws {
        let folder = try TemporaryFolder()
        let disk = folder.path("disk")
        try SmallDisk.mount(at: disk, kilobytes: 512)
        defer { SmallDisk.unmount(disk) }
        let db = disk + "/journal.sqlite"
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
}
