import Foundation
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// The retry policy as a file, printed by `policy` and obeyed by `request`, `replay` and `requeue`.
@Suite(.timeLimit(.minutes(2)))
struct PolicyFileTests {
    @Test func policyPrintsTheEffectivePolicyInTheFormItReads() async throws {
        let folder = try TemporaryFolder()
        let builtIn = try await runCLI(["policy"], in: folder)
        #expect(builtIn.status == 0, "\(builtIn.stderr)")
        #expect(try RetryPolicy(json: builtIn.stdoutData) == RetryPolicy())

        let file = folder.path("policy.json")
        try Data(#"{"retryableStatuses": [500, 503], "overrides": [{"method": "POST", "path": "/v1/simulations", "replayable": false}]}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        for arguments in [["--policy", file, "policy"], ["policy", "--policy", file]] {
            let printed = try await runCLI(arguments, in: folder)
            #expect(printed.status == 0, "\(printed.stderr)")
            let policy = try RetryPolicy(json: printed.stdoutData)
            #expect(policy.retryableStatuses == [500, 503])
            #expect(!policy.isReplayable(method: "POST", path: "/v1/simulations"))
        }
        let fromEnvironment = try await runCLI(["policy"], environment: ["PICUS_JOURNAL_POLICY": file], in: folder)
        #expect(try RetryPolicy(json: fromEnvironment.stdoutData).retryableStatuses == [500, 503])
    }

    @Test func aMissingOrMalformedPolicyFileIsOneLineAndExit1() async throws {
        let folder = try TemporaryFolder()
        let malformed = folder.path("malformed.json")
        try Data(#"{"maximumAttempts": "ten"}"#.utf8).write(to: URL(fileURLWithPath: malformed))
        let cases: [([String], [String: String], String)] = [
            (["policy", "--policy", folder.path("missing.json")], [:], "cannot be read"),
            (["policy"], ["PICUS_JOURNAL_POLICY": folder.path("missing.json")], "$PICUS_JOURNAL_POLICY"),
            (["--policy", malformed, "policy"], [:], #""maximumAttempts" that is not a number"#),
            (["request", "GET", "/v1/agents", "--db", folder.path("journal.sqlite"), "--policy", malformed, "--base-url", "http://127.0.0.1:9"], [:], "maximumAttempts"),
        ]
        for (arguments, environment, expected) in cases {
            let result = try await runCLI(arguments, environment: environment, in: folder)
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        // Nothing was journaled by the request whose policy was refused.
        #expect(!FileManager.default.fileExists(atPath: folder.path("journal.sqlite")))
    }

    @Test func aPolicyFilesRetryable500IsQueued() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let file = folder.path("policy.json")
        try Data(#"{"retryableStatuses": [408, 429, 500, 503, 504]}"#.utf8).write(to: URL(fileURLWithPath: file))
        try await withSandbox { sandbox in
            await sandbox.addFault(SandboxFault(status: 500, count: 2, path: "/v1/simulations"))
            let arguments = ["request", "POST", "/v1/simulations", "--data", #"{"simulation_name":"nightly"}"#, "--db", db,
                             "--base-url", sandbox.url.absoluteString]
            let withPolicy = try await runCLI(arguments + ["--policy", file], in: folder)
            #expect(withPolicy.status == 1)
            #expect(withPolicy.stderr.contains("queued"), "\(withPolicy.stderr)")
            let withoutPolicy = try await runCLI(arguments, in: folder)
            #expect(withoutPolicy.status == 1)
            let journal = try Journal(path: db)
            #expect(try await journal.entry(id: 1)?.state == .queued)
            #expect(try await journal.entry(id: 2)?.state == .failed)
        }
    }

    @Test func aTokenExchangeAnswerIsJudgedByThePolicyToo() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            await sandbox.addFault(SandboxFault(status: 500, count: 2, path: "/v1/auth/token"))
            var retries500 = RetryPolicy()
            retries500.retryableStatuses.insert(500)
            let lenient = try makeClient(folder: folder, sandbox: sandbox) { $0.retryPolicy = retries500 }
            #expect(try await lenient.send(.get("/v1/agents")).entry.state == .queued)
            let strict = try makeClient(folder: folder, sandbox: sandbox)
            #expect(try await strict.send(.get("/v1/agents")).entry.state == .failed)
        }
    }

    @Test func aStricterReplayerEndsAnEntryUnsentAndSaysWhy() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        let file = folder.path("strict.json")
        try Data(#"{"overrides": [{"method": "POST", "path": "/v1/simulations", "replayable": false}]}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        try await withSandbox { sandbox in
            // Written under the default policy, which replays it.
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let post = try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"strict"}"#))
            let get = try await client.enqueue(.get("/v1/agents"))
            #expect(post.isReplayable)

            let environment = ["PICUS_REFRESH_TOKEN": "sandbox-refresh-token"]
            let result = try await runCLI(["--policy", file, "replay", "--db", db, "--base-url", sandbox.url.absoluteString],
                                          environment: environment, in: folder)
            #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
            #expect(await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }.isEmpty)
            #expect(await sandbox.receivedRequests().contains { $0.path == "/v1/agents" })

            let ended = try #require(try await client.journal.entry(id: post.id))
            #expect(ended.state == .failed)
            let history = try await client.journal.attempts(ofEntry: post.id)
            #expect(history.count == 1)
            #expect(history.first?.transportError == .notReplayed)
            #expect(history.first?.error?.message?.contains("never replays POST /v1/simulations") == true, "\(history)")
            #expect(try await client.journal.entry(id: get.id)?.state == .succeeded)
        }
    }

    @Test func aLooserReplayerDoesNotReviveAnEntryWrittenAsNeverReplayed() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        try await withSandbox { sandbox in
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations"))
            var strict = RetryPolicy()
            strict.overrides = [.init(method: "POST", path: "/v1/simulations", isReplayable: false)]
            let client = try makeClient(folder: folder, sandbox: sandbox) { $0.retryPolicy = strict }
            let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"once"}"#))
            #expect(delivery.entry.state == .failed)
            #expect(!delivery.entry.isReplayable)

            let result = try await runCLI(["replay", "--db", db, "--base-url", sandbox.url.absoluteString],
                                          environment: ["PICUS_REFRESH_TOKEN": "sandbox-refresh-token"], in: folder)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
            let requeue = try await runCLI(["requeue", "1", "--db", db], in: folder)
            #expect(requeue.status == 1)
            #expect(requeue.stderr.contains("never replayed"), "\(requeue.stderr)")
            #expect(await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }.count == 1)
        }
    }
}
