import Foundation
import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalFixtures
import PicusJournalTestSupport

/// `list`, `stats`, `export`, `prune` and `doctor`, run as an operator would.
struct ReadSideCLITests {
    private func run(_ seeded: SeededJournal, _ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await runCLI(arguments + ["--db", seeded.journal.path], environment: environment, in: seeded.folder)
    }

    @Test func listSpeaksNDJSONAndCSVAndPagesWithACursor() async throws {
        let seeded = try await SeededJournal.make()
        let ndjson = try await run(seeded, ["list", "--format", "ndjson", "--status", "4xx"])
        let lines = ndjson.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["status"] as? Int).map { (400..<500).contains($0) } == true)
        }
        let csv = try await run(seeded, ["list", "--format", "csv", "--method", "POST"])
        let rows = CSVReader.parse(csv.stdout)
        #expect(rows.first == EntryDocument.csvColumns)
        #expect(rows.count == 3)

        var after: String?
        var seen: [String] = []
        repeat {
            let page = try await run(seeded, ["list", "--format", "json", "--limit", "3"] + (after.map { ["--after", $0] } ?? []))
            let array = try #require(try JSONSerialization.jsonObject(with: Data(page.stdout.utf8)) as? [[String: Any]])
            seen += array.compactMap { $0["uuid"] as? String }
            after = page.stderr.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
            if !page.stderr.contains("--after") { after = nil }
        } while after != nil
        #expect(seen.count == 8)
        #expect(Set(seen).count == 8)
    }

    @Test func listTakesEveryFilter() async throws {
        let seeded = try await SeededJournal.make()
        func ids(_ arguments: [String]) async throws -> [Int64] {
            let result = try await run(seeded, ["list", "--format", "json"] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let array = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
            return array.compactMap { $0["id"] as? Int64 }
        }
        #expect(try await ids(["--path", "/v1/templates"]) == [seeded.ids["gateway"]!])
        #expect(try await ids(["--error-code", "1001"]) == [seeded.ids["duplicate"]!])
        #expect(try await ids(["--grep", "validation"]) == [seeded.ids["invalid"]!])
        #expect(try await ids(["--method", "put"]) == [seeded.ids["pending"]!])
        #expect(try await ids(["--until", "100h", "--since", "300h"]) == [seeded.ids["gateway"]!])
        #expect(try await ids(["--state", "queued", "--status", "5xx"]) == [seeded.ids["outage"]!, seeded.ids["gateway"]!])
    }

    @Test func listRedactsSecretQueryParameters() async throws {
        let seeded = try await SeededJournal.make()
        let result = try await run(seeded, ["list", "--format", "json", "--path", "/v1/templates"])
        #expect(result.stdout.contains("token=<redacted>&limit=5"))
        #expect(!result.stdout.contains("s3cr3t"))
    }

    @Test func statsPrintsATableAndJSON() async throws {
        let seeded = try await SeededJournal.make()
        let table = try await run(seeded, ["stats", "--by", "status"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("Entries: 8"))
        #expect(table.stdout.contains("failure rate: 75.0%"))
        #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
        let json = try await run(seeded, ["stats", "--format", "json", "--by", "day"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["total"] as? Int == 8)
        #expect(object["queueDepth"] as? Int == 4)
        #expect((object["oldestQueued"] as? [String: Any])?["id"] as? Int64 == seeded.ids["gateway"])
        #expect(object["grouping"] as? String == "day")
    }

    @Test func exportWritesAPrivateFileAndABundle() async throws {
        let seeded = try await SeededJournal.make()
        let target = seeded.folder.path("ticket.har")
        let result = try await run(seeded, ["export", "--since", "7d", "--bundle", "-o", target])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("exported 7 entries"))
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let data = try Data(contentsOf: URL(fileURLWithPath: target))
        let log = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["log"] as? [String: Any])
        #expect((log["comment"] as? String)?.contains("support bundle") == true)
        #expect((log["entries"] as? [Any])?.count == 7)
        #expect(try FileManager.default.contentsOfDirectory(atPath: seeded.folder.url.path).allSatisfy { !$0.contains(".partial") })

        let csv = try await run(seeded, ["export", "--format", "csv"])
        #expect(CSVReader.parse(csv.stdout).count == 9)
        let misuse = try await run(seeded, ["export", "--bundle", "--format", "csv"])
        #expect(misuse.status == 64)
        let nowhere = try await run(seeded, ["export", "-o", "/nonexistent-folder/ticket.har"])
        #expect(nowhere.status == 1)
        #expect(nowhere.stderr.split(separator: "\n").count == 1)
        let folderTarget = try await run(seeded, ["export", "-o", seeded.folder.url.path])
        #expect(folderTarget.status == 1)
        #expect(folderTarget.stderr.contains("is a folder"))
        #expect(FileManager.default.fileExists(atPath: seeded.journal.path))
    }

    @Test func pruneAndDoctorExitCodes() async throws {
        let seeded = try await SeededJournal.make()
        let dryRun = try await run(seeded, ["prune", "--dry-run", "--older-than", "1d", "--state", "failed"])
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout.contains("Would delete 0 failed entries"))
        let waiting = try await run(seeded, ["prune", "--state", "queued"])
        #expect(waiting.status == 64)
        let doctor = try await run(seeded, ["doctor"])
        // Seeded queued entries have been due for hours: that is worth a BAD line.
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("BAD queue"))
        #expect(doctor.stdout.contains("picus-journal replay"))

        let folder = try TemporaryFolder()
        _ = try Journal(path: folder.path("fresh.sqlite"))
        let healthy = try await runCLI(["doctor", "--db", folder.path("fresh.sqlite")], in: folder)
        #expect(healthy.status == 0)
        #expect(healthy.stdout.contains("All is well."))
        let notes = folder.path("notes.txt")
        try Data("not a journal".utf8).write(to: URL(fileURLWithPath: notes))
        let broken = try await runCLI(["doctor", "--db", notes, "--format", "json"], in: folder)
        #expect(broken.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(broken.stdout.utf8)) as? [String: Any])
        #expect(object["healthy"] as? Bool == false)
    }

    @Test(arguments: ["request", "list", "show", "stats", "export", "replay", "cancel", "requeue", "prune", "doctor", "sandbox", "demo"])
    func everySubcommandsHelpShowsAnExample(command: String) async throws {
        let folder = try TemporaryFolder()
        let result = try await runCLI([command, "--help"], in: folder)
        #expect(result.status == 0)
        #expect(result.stdout.contains("Example:"))
        #expect(result.stdout.contains("picus-journal \(command)") || command == "demo")
    }

    @Test func colourOnlyOnATerminal() async throws {
        let seeded = try await SeededJournal.make()
        // Not a terminal, NO_COLOR unset: still no escape codes.
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = nil
        let process = Process()
        process.executableURL = Products.cli
        process.arguments = ["list", "--db", seeded.journal.path]
        process.environment = environment
        let out = seeded.folder.path("out.txt")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let status: Int32 = try await withCheckedThrowingContinuation { done in
            process.terminationHandler = { done.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { done.resume(throwing: error) }
        }
        #expect(status == 0)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("queued"))
        #expect(!text.contains("\u{1B}["))
    }
}
