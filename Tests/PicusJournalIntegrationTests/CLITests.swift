import Foundation
import HTTPTypes
import GRDB
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// Runs the built `picus-journal` binary, as an operator would.
@Suite struct CLITests {
    private func request(_ arguments: [String], sandbox: PicusSandbox, db: String, in folder: TemporaryFolder) async throws -> CommandResult {
        try await runCLI(["request"] + arguments + ["--db", db, "--base-url", sandbox.url.absoluteString],
                      environment: ["PICUS_REFRESH_TOKEN": "sandbox-refresh-token"], in: folder)
    }

    @Test func requestPrintsTheBodyAndExitsZeroOnSuccess() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let result = try await request(["GET", "/v1/agents"], sandbox: sandbox, db: folder.path("j.sqlite"), in: folder)

            #expect(result.status == 0)
            #expect(result.stdout.contains("\"agents\""))
            #expect(result.stderr == "entry 1 (GET /v1/agents): HTTP 200 OK; succeeded\n")
        }
    }

    @Test func requestJournalsTheFourOutcomesAndListShowsThe422() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("j.sqlite")
        try await withSandbox { sandbox in
            let success = try await request(["POST", "/v1/simulations", "--data", #"{"simulation_name":"cli"}"#], sandbox: sandbox, db: db, in: folder)
            let invalid = try await request(["GET", "/v1/simulations?limit=1000"], sandbox: sandbox, db: db, in: folder)
            let missing = try await request(["GET", "/v1/agents/99"], sandbox: sandbox, db: db, in: folder)
            await sandbox.addFault(SandboxFault(status: 503, count: 1))
            let outage = try await request(["GET", "/v1/templates"], sandbox: sandbox, db: db, in: folder)

            #expect(success.status == 0)
            #expect(invalid.status == 1)
            #expect(invalid.stderr.split(separator: "\n").count == 1)
            #expect(invalid.stderr.contains("entry 2 (GET /v1/simulations?limit=1000)"))
            #expect(invalid.stderr.contains("422"))
            #expect(invalid.stderr.contains("not queued"))
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("404"))
            #expect(missing.stderr.contains("failed"))
            #expect(outage.status == 1)
            #expect(outage.stderr.contains("503"))
            #expect(outage.stderr.contains("queued for replay"))

            let list = try await runCLI(["list", "--status", "422", "--format", "json", "--db", db], in: folder)
            #expect(list.status == 0)
            let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            #expect(array.count == 1)
            let entry = try #require(array.first)
            #expect(entry["id"] as? Int == 2)
            #expect(entry["status"] as? Int == 422)
            #expect(entry["state"] as? String == "failed")
            #expect(entry["path"] as? String == "/v1/simulations?limit=1000")
            #expect(entry["method"] as? String == "GET")
            #expect(entry["attempts"] as? Int == 1)
            #expect((entry["uuid"] as? String)?.count == 36)
            #expect((entry["createdAt"] as? String)?.hasSuffix("Z") == true)
            #expect(entry.keys.contains("nextAttemptAt"))
            let error = try #require(entry["error"] as? [String: Any])
            #expect(error["message"] as? String == "validation error")
            #expect((error["errors"] as? [String: String])?["limit"] == "tag=max, param=50, given value=1000")
            #expect(error.keys.contains("errorCode"))

            let queued = try await runCLI(["list", "--state", "queued", "--format", "json", "--db", db], in: folder)
            let queuedArray = try #require(try JSONSerialization.jsonObject(with: Data(queued.stdout.utf8)) as? [[String: Any]])
            #expect(queuedArray.count == 1)
            #expect(queuedArray.first?["nextAttemptAt"] is String)

            let classes = try await runCLI(["list", "--status", "4xx", "--format", "json", "--db", db], in: folder)
            let classArray = try #require(try JSONSerialization.jsonObject(with: Data(classes.stdout.utf8)) as? [[String: Any]])
            #expect(classArray.compactMap { $0["status"] as? Int }.sorted() == [404, 422])

            let table = try await runCLI(["list", "--db", db], in: folder)
            #expect(table.status == 0)
            #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
            #expect(!table.stdout.contains("\u{1B}["))

            let show = try await runCLI(["show", "2", "--db", db], in: folder)
            #expect(show.status == 0)
            #expect(show.stdout.contains("validation error"))
            #expect(show.stdout.contains("tag=max, param=50, given value=1000"))
        }
    }

    @Test func anEmptyJournalListsAnEmptyArray() async throws {
        let folder = try TemporaryFolder()
        _ = try Journal(path: folder.path("new.sqlite"))
        let result = try await runCLI(["list", "--format", "json", "--db", folder.path("new.sqlite")], in: folder)
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func readersRefuseAJournalThatDoesNotExistInsteadOfCreatingIt() async throws {
        let folder = try TemporaryFolder()
        for command in [["list"], ["stats"], ["export"], ["show", "1"], ["prune"], ["doctor"], ["cancel", "1"], ["requeue", "1"]] {
            let result = try await runCLI(command + ["--db", folder.path("typo.sqlite")], in: folder)
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("no journal at") || result.stdout.contains("no journal at"), "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path("typo.sqlite")))
    }

    @Test func theDBMayComeBeforeTheSubcommand() async throws {
        let folder = try TemporaryFolder()
        _ = try Journal(path: folder.path("j.sqlite"))
        let before = try await runCLI(["--db", folder.path("j.sqlite"), "list", "--format", "json"], in: folder)
        let joined = try await runCLI(["--db=\(folder.path("j.sqlite"))", "stats", "--format", "json"], in: folder)
        #expect(before.status == 0)
        #expect(before.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        #expect(joined.status == 0)
    }

    @Test func theDBFallsBackToTheEnvironmentThenXDGStateHome() async throws {
        let folder = try TemporaryFolder()
        _ = try await runCLI(["replay", "--dry-run"], environment: ["PICUS_JOURNAL_DB": folder.path("env.sqlite")], in: folder)
        _ = try await runCLI(["replay", "--dry-run"], environment: ["XDG_STATE_HOME": folder.path("state")], in: folder)
        #expect(FileManager.default.fileExists(atPath: folder.path("env.sqlite")))
        #expect(FileManager.default.fileExists(atPath: folder.path("state/picus-journal/journal.sqlite")))
    }

    @Test(arguments: [["list", "--status", "bogus"], ["list", "--status", "6xx"], ["list", "--state", "lost"],
                      ["list", "--since", "yesterday"], ["request", "FETCH", "/v1/agents"],
                      ["request", "GET", "v1/agents"], ["request", "POST", "/v1/simulations", "--data", "{not json"],
                      ["request", "GET", "/v1/agents", "--base-url", "not a url"], ["show", "abc"], ["frobnicate"]])
    func usageErrorsExit64WithTheUsageLine(arguments: [String]) async throws {
        let folder = try TemporaryFolder()
        let result = try await runCLI(arguments + ["--db", folder.path("j.sqlite")], in: folder)
        #expect(result.status == 64)
        #expect(result.stderr.contains("Usage:") || result.stderr.contains("Error:"))
        #expect(!FileManager.default.fileExists(atPath: folder.path("j.sqlite")))
    }

    @Test func aFileThatIsNotSQLiteGetsOneLineAndExitOne() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("notes.txt")
        let content = Data("hello, this is not a database at all, just some text\n".utf8)
        try content.write(to: URL(fileURLWithPath: path))

        let result = try await runCLI(["list", "--db", path], in: folder)

        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("not a SQLite database"))
        #expect(!result.stderr.contains("Fatal error"))
        #expect(FileManager.default.contents(atPath: path) == content)
    }

    @Test func aForeignSQLiteDatabaseGetsOneLineAndExitOne() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("other.sqlite")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        try queue.close()

        let result = try await runCLI(["list", "--db", path], in: folder)

        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("not a picus-journal journal"))
    }

    @Test func aMissingBodyFileGetsOneLineAndJournalsNothing() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("j.sqlite")
        let result = try await runCLI(["request", "POST", "/v1/simulations", "--data", "@/nonexistent/body.json", "--db", db,
                                    "--base-url", "http://127.0.0.1:9"], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("cannot read the body file /nonexistent/body.json"))
    }

    @Test func anUnknownEntryGetsOneLine() async throws {
        let folder = try TemporaryFolder()
        _ = try Journal(path: folder.path("j.sqlite"))
        let result = try await runCLI(["show", "42", "--db", folder.path("j.sqlite")], in: folder)
        #expect(result.status == 1)
        #expect(result.stderr.contains("no entry 42"))
    }

    @Test func aServerThatIsDownLeavesTheRequestQueued() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("j.sqlite")
        // A port held without listening: a stopped server's port may be another test's by now.
        let closed = try ClosedPort()
        let url = "http://127.0.0.1:\(closed.port)"

        let result = try await runCLI(["request", "GET", "/v1/agents", "--db", db, "--base-url", url], in: folder)
        withExtendedLifetime(closed) {}

        #expect(result.status == 1)
        #expect(result.stderr.contains("refused"))
        #expect(result.stderr.contains("queued for replay"))
    }

    @Test func theBinaryCopiedAloneCreatesAndMigratesAJournal() async throws {
        let folder = try TemporaryFolder()
        let lonely = folder.url.appendingPathComponent("bin/picus-journal")
        try FileManager.default.createDirectory(at: lonely.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Products.cli, to: lonely)

        let created = try await runBinary(lonely, ["replay", "--dry-run", "--db", folder.path("fresh/journal.sqlite")], in: folder)
        let result = try await runBinary(lonely, ["list", "--format", "json", "--db", folder.path("fresh/journal.sqlite")], in: folder)

        #expect(created.status == 0)
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        let queue = try DatabaseQueue(path: folder.path("fresh/journal.sqlite"))
        let migrations = try await queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(migrations == Journal.knownSchemaVersions)
    }

    @Test func theDemoTellsTheStoryAndExitsZero() async throws {
        let folder = try TemporaryFolder()
        let result = try await runCLI(["demo", "--db", folder.path("demo.sqlite")], in: folder)
        #expect(result.status == 0)
        #expect(result.stdout.contains("validation error"))
        #expect(result.stdout.contains("queued for replay"))
    }

    @Test func theSandboxServesUntilSIGTERM() async throws {
        let sandbox = try RunningProcess(["sandbox", "--port", "0"])
        let first = try #require(await sandbox.nextLine())
        let url = try #require(URL(string: first))
        #expect(url.host == "127.0.0.1")

        let response = try await DefaultTransport.shared.send(
            HTTPRequest(method: .get, url: url.appendingPathComponent("v1/agents")), body: nil, options: TransportOptions())
        #expect(response.status == 401)
        #expect(String(decoding: response.body, as: UTF8.self).contains("auth header is empty"))
        sandbox.terminate()

        #expect(try await sandbox.exitStatus() == 0)
    }
}
