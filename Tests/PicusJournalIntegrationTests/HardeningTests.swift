import Foundation
import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// A server that hands out an access token, then answers every API call with a 422 that echoes the
/// token in its body and headers, sets cookies, and carries terminal escape codes in its message.
private func echoingServer(token: String) throws -> MisbehavingServer {
    try MisbehavingServer { request in
        if request.target == "/v1/auth/token" {
            return [MisbehavingServer.response("200 OK", body: #"{"token":"\#(token)","expire_at":4102444800000}"#)]
        }
        let echoed = request.headers["authorization"] ?? "none"
        let body = #"{"message":"\u001b]0;owned\u0007\u001b[2Jyour token \#(echoed) is bad\rX","error_code":"=HYPERLINK(\"http://evil\")","errors":{"auth":"\#(echoed)"}}"#
        return [MisbehavingServer.response("422 Unprocessable Entity", headers: [
            "Content-Type": "application/json", "X-Echo": echoed, "Set-Cookie": "session=cookie-value-123",
            "X-Session-Id": "session-value-456", "X-Tenant-Key": "tenant-value-789",
        ], body: body)]
    }
}

@Suite(.timeLimit(.minutes(1)))
struct HardeningTests {
    private let token = "access-token-ECHOED-1f2e3d"
    private let refreshToken = "refresh-token-SECRET-9a8b7c"

    private func environment(_ server: MisbehavingServer, _ db: String) -> [String: String] {
        ["PICUS_API_URL": server.url.absoluteString, "PICUS_REFRESH_TOKEN": refreshToken, "PICUS_JOURNAL_DB": db]
    }

    @Test func anEchoedAccessTokenReachesNoFileAndNoScreen() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let server = try echoingServer(token: token)

        let request = try await runCLI(["request", "POST", "/v1/simulations", "--data", #"{"simulation_name":"x"}"#],
                                       environment: environment(server, db), in: folder)
        var outputs = [request]
        for arguments in [["list", "--format", "json"], ["list", "--format", "csv"], ["list"], ["show", "1"],
                          ["show", "1", "--format", "json"], ["stats"], ["export", "--format", "har"],
                          ["export", "--format", "ndjson"], ["export", "--format", "csv"]] {
            outputs.append(try await runCLI(arguments, environment: environment(server, db), in: folder))
        }
        let bytes = try await journalBytes(at: db)

        #expect(request.status == 1)
        #expect(bytes.contains("/v1/simulations"))
        for secret in [token, refreshToken, "cookie-value-123", "session-value-456"] {
            #expect(!bytes.contains(secret), "\(secret) reached the journal")
            for output in outputs {
                #expect(!output.stdout.contains(secret) && !output.stderr.contains(secret), "\(secret) reached an output")
            }
        }
        #expect(outputs.dropFirst().allSatisfy { $0.status == 0 }, "\(outputs.map(\.stderr))")
    }

    @Test func serverTextReachesATerminalEscapedAndJSONExact() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let server = try echoingServer(token: token)

        let request = try await runCLI(["request", "GET", "/v1/agents"], environment: environment(server, db), in: folder)
        let show = try await runCLI(["show", "1"], environment: environment(server, db), in: folder)
        let list = try await runCLI(["list"], environment: environment(server, db), in: folder)
        let json = try await runCLI(["show", "1", "--format", "json"], environment: environment(server, db), in: folder)
        let csv = try await runCLI(["list", "--format", "csv"], environment: environment(server, db), in: folder)

        for output in [request.stderr, show.stdout, list.stdout] {
            #expect(!output.unicodeScalars.contains { [0x1B, 0x07, 0x0D, 0x00].contains($0.value) }, "a raw control character: \(output.debugDescription)")
        }
        #expect(request.stderr.contains(#"\e]0;owned\a\e[2J"#))
        #expect(show.stdout.contains(#"\e]0;owned\a\e[2J"#))
        #expect(json.stdout.contains(#"\u001b]0;owned\u0007"#))
        #expect(csv.stdout.contains(#"'=HYPERLINK("#))
    }

    @Test func extraSecretNamesAreRedactedAndSecretBodiesNeedNotBeKept() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in
            [MisbehavingServer.response("503 Service Unavailable", headers: ["X-Tenant-Key": "tenant-value-789"], body: "down")]
        }
        var configuration = JournaledClient.Configuration()
        configuration.redaction.headerNames = ["X-Customer-Pin"]
        configuration.redaction.jsonKeys = ["pin"]
        configuration.keepsSecretBodyFields = false
        let client = JournaledClient(journal: try Journal(path: folder.path("journal.sqlite")), baseURL: server.url,
                                     configuration: configuration)

        var request = APIRequest.post("/v1/simulations", json: #"{"simulation_name":"x","pin":"4321","password":"hunter2"}"#)
        request.headers["X-Customer-Pin"] = "pin-value-555"
        let delivery = try await client.send(request)

        #expect(server.received.first?.body.contains("hunter2") == true, "the request itself goes out whole")
        #expect(delivery.entry.isReplayable == false)
        #expect(delivery.entry.state == .failed)
        #expect(delivery.summary.contains("never replayed"))
        #expect(delivery.entry.requestHeaders["x-customer-pin"] == Redactor.placeholder)
        let bytes = try await journalBytes(at: folder.path("journal.sqlite"))
        for secret in ["4321", "hunter2", "pin-value-555", "tenant-value-789"] {
            #expect(!bytes.contains(secret), "\(secret) reached the journal")
        }
    }

    @Test func exportFollowsLinksAndWritesFIFOsInPlace() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let server = try echoingServer(token: token)
        _ = try await runCLI(["request", "GET", "/v1/agents"], environment: environment(server, db), in: folder)
        let target = folder.path("target.ndjson")
        _ = FileManager.default.createFile(atPath: target, contents: Data("old".utf8))
        let link = folder.path("link.ndjson")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.ndjson")
        let fifo = folder.path("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)

        let viaLink = try await runCLI(["export", "--db", db, "--format", "ndjson", "-o", link], in: folder)
        async let drained = runBinary(URL(fileURLWithPath: "/bin/cat"), [fifo], in: folder)
        let viaFIFO = try await runCLI(["export", "--db", db, "--format", "ndjson", "-o", fifo], in: folder)
        let read = try await drained
        let viaDash = try await runCLI(["export", "--db", db, "--format", "ndjson", "-o", "-"], in: folder)

        #expect(viaLink.status == 0, "\(viaLink.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "target.ndjson")
        #expect(try String(contentsOfFile: target, encoding: .utf8).contains("\"method\":\"GET\""))
        #expect(viaFIFO.status == 0, "\(viaFIFO.stderr)")
        #expect(read.stdout.contains("\"method\":\"GET\""))
        #expect(ExclusiveFileKind.isFIFO(fifo))
        #expect(viaDash.stdout.contains("\"method\":\"GET\""))
    }

    @Test(arguments: ["exec \"$0\" \"$@\" >&-", "exec \"$0\" \"$@\" > /dev/full"])
    func aClosedOrFullStdoutIsOneLineAndTheOutcomeStillShows(redirect: String) async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let server = try MisbehavingServer { request in
            request.target == "/v1/auth/token"
                ? [MisbehavingServer.response("200 OK", body: #"{"token":"t-123456789","expire_at":4102444800000}"#)]
                : [MisbehavingServer.response("503 Service Unavailable", headers: ["Retry-After": "60", "Content-Type": "application/json"],
                                              body: #"{"message":"down"}"#)]
        }
        let shell = URL(fileURLWithPath: "/bin/sh")
        let cli = Products.cli.path

        let request = try await runBinary(shell, ["-c", redirect, cli, "request", "GET", "/v1/agents"],
                                          environment: environment(server, db), in: folder)
        var others: [CommandResult] = []
        for arguments in [["list"], ["show", "1"], ["doctor"], ["stats"], ["replay", "--dry-run"]] {
            others.append(try await runBinary(shell, ["-c", redirect, cli] + arguments, environment: environment(server, db), in: folder))
        }

        #expect(request.status == 1)
        #expect(request.stderr.contains("queued for replay"))
        #expect(request.stderr.contains("cannot write the output"))
        #expect(!request.stderr.contains("Fatal error"))
        for result in others {
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("cannot write the output"))
        }
    }

    @Test func readersLeaveTheJournalByteForByteAsItWas() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let server = try echoingServer(token: token)
        _ = try await runCLI(["request", "GET", "/v1/agents"], environment: environment(server, db), in: folder)
        let empty = folder.path("empty.sqlite")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let before = try Data(contentsOf: URL(fileURLWithPath: db))

        var results: [CommandResult] = []
        for arguments in [["list"], ["show", "1"], ["stats"], ["doctor"], ["export", "--format", "har"]] {
            results.append(try await runCLI(arguments + ["--db", db], in: folder))
        }
        let onEmpty = try await runCLI(["list", "--db", empty], in: folder)

        #expect(results.map(\.status) == [0, 0, 0, 0, 0], "\(results.map(\.stderr))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
        #expect(onEmpty.status == 1)
        #expect(onEmpty.stderr.contains("not a journal yet"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/usr/sbin/runuser"), "needs root to read as another user"))
    func aUserWhoMayOnlyReadCanReadTheJournal() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let server = try echoingServer(token: token)
        _ = try await runCLI(["request", "GET", "/v1/agents"], environment: environment(server, db), in: folder)
        chmod(folder.url.path, 0o755)
        chmod(db, 0o644)

        let list = try await runBinary(URL(fileURLWithPath: "/usr/sbin/runuser"),
                                       ["-u", "nobody", "--", Products.cli.path, "list", "--db", db, "--format", "json"], in: folder)

        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("/v1/agents"))
        #expect(!FileManager.default.fileExists(atPath: db + "-shm"))
    }
}

enum ExclusiveFileKind {
    static func isFIFO(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO
    }
}

/// A request whose own secret header is redacted on disk is never replayed with `<redacted>` in it.
struct RedactedHeaderTests {
    @Test func aRequestWithItsOwnSecretHeaderIsNeverReplayedWithoutIt() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in [MisbehavingServer.response("503 Service Unavailable", body: "down")] }
        let client = JournaledClient(journal: try Journal(path: folder.path("journal.sqlite")), baseURL: server.url)
        var request = APIRequest.get("/v1/agents")
        request.headers["X-Tenant-Key"] = "tenant-value-789"

        let delivery = try await client.send(request)
        let summary = try await ReplayEngine(client: client).drain(.init(force: true))

        #expect(delivery.entry.requestHeaders["x-tenant-key"] == Redactor.placeholder)
        #expect(delivery.entry.isReplayable == false)
        #expect(delivery.entry.state == .failed)
        #expect(summary.replayed == 0)
        #expect(server.received.count == 1)
        #expect(server.received.allSatisfy { $0.headers["x-tenant-key"] == "tenant-value-789" })
    }
}
