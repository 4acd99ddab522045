import Foundation
import HTTPTypes
import GRDB
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

struct JournaledClientTests {
    @Test func aSuccessIsJournaledWithOneAttemptAndItsIdempotencyKey() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.isSuccess)
            #expect(delivery.response?.status == 200)
            let body = try #require(delivery.response?.body)
            #expect(String(decoding: body, as: UTF8.self).contains("agent-1"))
            let attempts = try await client.journal.attempts(ofEntry: delivery.entry.id)
            #expect(attempts.map(\.status) == [200])
            #expect(attempts[0].outcome == .success)
            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/agents" }
            #expect(received.count == 1)
            #expect(received.first?.idempotencyKey == delivery.entry.uuid.uuidString.lowercased())
        }
    }

    @Test func aValidationErrorIsDecodedAndFailsForGood() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)

            let delivery = try await client.send(.get("/v1/simulations?limit=1000"))

            #expect(delivery.entry.state == .failed)
            #expect(delivery.entry.lastStatus == 422)
            #expect(delivery.entry.target == "/v1/simulations?limit=1000")
            #expect(delivery.error?.message == "validation error")
            #expect(delivery.error?.errors == .object(["limit": .string("tag=max, param=50, given value=1000")]))
            let stored = try #require(try await client.journal.entry(id: delivery.entry.id))
            #expect(stored.lastErrorMessage == "validation error")
            #expect(stored.lastErrors == .object(["limit": .string("tag=max, param=50, given value=1000")]))
            #expect(stored.nextAttemptAt == nil)
        }
    }

    @Test func aNotFoundFailsAndAnErrorCodeIsKept() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)

            let missing = try await client.send(.get("/v1/simulations/999"))
            _ = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"twice"}"#))
            let duplicate = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"twice"}"#))

            #expect(missing.entry.state == .failed)
            #expect(missing.entry.lastStatus == 404)
            #expect(missing.error?.message == "not found error")
            #expect(duplicate.entry.state == .failed)
            #expect(duplicate.entry.lastErrorCode == "1001")
        }
    }

    @Test func anOutageLeavesTheEntryQueuedNoEarlierThanRetryAfter() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations", retryAfter: "120"))
            let before = Date()

            let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"outage"}"#))

            #expect(delivery.entry.state == .queued)
            #expect(delivery.isQueued)
            #expect(delivery.entry.lastStatus == 503)
            let next = try #require(delivery.entry.nextAttemptAt)
            #expect(next >= before.addingTimeInterval(120))
            let attempts = try await client.journal.attempts(ofEntry: delivery.entry.id)
            #expect(attempts[0].retryAfterMs.map { $0 > 119_000 && $0 <= 120_000 } == true)
            #expect(attempts[0].outcome == .retryable)
            #expect(try await client.journal.entry(id: delivery.entry.id)?.requestBody == Data(#"{"simulation_name":"outage"}"#.utf8))
        }
    }

    @Test func aGatewayHTMLPageIsKeptAndTheEntryQueued() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 504, count: 1, path: "/v1/templates", html: true))

            let delivery = try await client.send(.get("/v1/templates"))

            #expect(delivery.entry.state == .queued)
            #expect(delivery.error?.kind == .html)
            #expect(delivery.error?.message == "504 Gateway Time-out")
            let attempts = try await client.journal.attempts(ofEntry: delivery.entry.id)
            let raw = try #require(attempts.first?.error?.raw)
            #expect(String(decoding: raw, as: UTF8.self).contains("<title>504 Gateway Time-out</title>"))
        }
    }

    @Test func anEmptyServiceUnavailableIsQueued() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/agents", body: ""))

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.entry.state == .queued)
            #expect(delivery.error?.kind == .empty)
        }
    }

    @Test func aSpentRateLimitIsRecordedAndTheNextSendWaitsForTheResetUnsent() async throws {
        let folder = try TemporaryFolder()
        // A window of a day: with the API's minute, a run that crossed the minute's end met a fresh
        // budget halfway, and failed.
        var configuration = PicusSandbox.Configuration()
        configuration.rateLimitWindow = .seconds(86_400)
        try await withSandbox(configuration) { sandbox in
            await sandbox.setRateLimit(1, for: "GET /v1/agents")
            let client = try makeClient(folder: folder, sandbox: sandbox)

            let first = try await client.send(.get("/v1/agents"))
            // The answer said the budget is spent: the next send is journaled and queued for the
            // reset, not sent to provoke a 429.
            let second = try await client.send(.get("/v1/agents"))

            #expect(first.isSuccess)
            let attempt = try #require(try await client.journal.attempts(ofEntry: first.entry.id).first)
            #expect(attempt.rateLimitLimit == 1)
            #expect(attempt.rateLimitRemaining == 0)
            let reset = try #require(attempt.rateLimitReset)
            #expect(second.entry.state == .queued)
            #expect(second.entry.attemptCount == 0)
            #expect(second.summary.contains("not sent"), "\(second.summary)")
            #expect(second.entry.nextAttemptAt.map { $0.timeIntervalSince1970 >= Double(reset) } == true)
            #expect(await sandbox.receivedRequests().filter { $0.path == "/v1/agents" }.count == 1)
            #expect(try await client.journal.holds().contains { $0.key == "GET /v1/agents" })
        }
    }

    @Test func a429IsRecordedWithItsHeadersAndHoldsTheEndpoint() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 429, count: 1, path: "/v1/agents", retryAfter: "30"))

            let refused = try await client.send(.get("/v1/agents"))

            #expect(refused.entry.state == .queued)
            #expect(refused.entry.lastStatus == 429)
            let attempt = try #require(try await client.journal.attempts(ofEntry: refused.entry.id).first)
            #expect(attempt.retryAfterMs == 30_000)
            #expect(try await client.journal.holds().contains { $0.key == "GET /v1/agents" })
        }
    }

    @Test func aRefusedConnectionIsQueuedAsATransportFailure() async throws {
        let folder = try TemporaryFolder()
        // A port held without listening: a stopped server's port may be another test's by now.
        let closed = try ClosedPort()
        let client = JournaledClient(journal: try Journal(path: folder.path("journal.sqlite")),
                                     baseURL: try #require(URL(string: "http://127.0.0.1:\(closed.port)")))

        let delivery = try await client.send(.get("/v1/agents"))
        withExtendedLifetime(closed) {}

        #expect(delivery.entry.state == .queued)
        #expect(delivery.transportError?.kind == .refused)
        #expect(delivery.entry.lastTransportError == .refused)
        #expect(delivery.entry.lastStatus == nil)
    }

    @Test func aTimeoutIsQueuedAsATransportFailure() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            // The token is fetched beforehand: the exchange would run under the same short deadline.
            let token = try await RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url).accessToken()
            var configuration = JournaledClient.Configuration()
            configuration.limits.timeout = .milliseconds(300)
            let client = JournaledClient(journal: try Journal(path: folder.path("journal.sqlite")), baseURL: sandbox.url,
                                         credentials: FixedToken(token: token), configuration: configuration)
            _ = try await client.send(.get("/v1/agents"))
            await sandbox.addFault(SandboxFault(status: 200, count: 1, path: "/v1/templates", delayMs: 3000))

            let delivery = try await client.send(.get("/v1/templates"))

            #expect(delivery.entry.state == .queued)
            #expect(delivery.transportError?.kind == .timeout)
        }
    }

    @Test func a401RefreshesTheTokenOnceAndRetriesInline() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let journal = try Journal(path: folder.path("journal.sqlite"))
            let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)
            let client = JournaledClient(journal: journal, baseURL: sandbox.url, credentials: credentials)
            _ = try await client.send(.get("/v1/agents"))
            await sandbox.expireAccessTokens()

            let delivery = try await client.send(.get("/v1/integrations"))

            #expect(delivery.isSuccess)
            let attempts = try await journal.attempts(ofEntry: delivery.entry.id)
            #expect(attempts.map(\.status) == [401, 200])
            #expect(attempts.map(\.outcome) == [.refresh, .success])
            #expect(attempts[0].error?.message == "unauthorized error")
            #expect(await credentials.exchangeCount == 2)
        }
    }

    @Test func a401AfterTheRefreshFailsForGood() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 401, count: 2, path: "/v1/agents"))

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.entry.state == .failed)
            #expect(delivery.entry.attemptCount == 2)
            #expect(delivery.entry.lastStatus == 401)
        }
    }

    @Test func aRefusedRefreshTokenFailsTheEntryWithoutSendingIt() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox, refreshToken: "revoked")

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.entry.state == .failed)
            #expect(delivery.entry.lastTransportError == .auth)
            #expect(delivery.entry.lastErrorMessage?.contains("unauthorized error") == true)
            #expect(await sandbox.receivedRequests().filter { $0.path == "/v1/agents" }.isEmpty)
        }
    }

    @Test func anAuthOutageQueuesTheEntry() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/auth/token"))

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.entry.state == .queued)
            #expect(delivery.entry.lastTransportError == .auth)
        }
    }

    @Test func theTokenExchangeIsNeverQueuedAndItsBodyIsRedacted() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let journal = try Journal(path: folder.path("journal.sqlite"))
            let client = JournaledClient(journal: journal, baseURL: sandbox.url)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/auth/token"))

            let delivery = try await client.send(.post("/v1/auth/token", json: #"{"refresh_token":"sandbox-refresh-token"}"#))

            #expect(delivery.entry.state == .failed)
            let stored = try #require(try await journal.entry(id: delivery.entry.id))
            #expect(stored.requestBody == Data(#"{"refresh_token":"<redacted>"}"#.utf8))
        }
    }

    @Test func theEntryIsCommittedBeforeTheRequestLeavesTheProcess() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        try await withSandbox { sandbox in
            let journal = try Journal(path: path)
            let observer = CommittedEntryObserver(path: path)
            let client = JournaledClient(
                journal: journal, baseURL: sandbox.url,
                credentials: RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url),
                transport: observer)

            let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"ahead"}"#))

            #expect(delivery.isSuccess)
            #expect(await observer.statesSeen == ["inFlight"])
        }
    }

    @Test func refusesABodyLargerThanTheJournalKeeps() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox) { $0.limits.maximumRequestBodySize = 10 }

            await #expect(throws: RequestError.self) {
                try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"far too long"}"#))
            }
            #expect(try await client.journal.entries(matching: JournalQuery()).isEmpty)
        }
    }
}

/// Forwards to the real transport, after reading — through its own connection — the state the
/// journal has committed for the entry whose Idempotency-Key is about to be sent.
actor CommittedEntryObserver: HTTPTransport {
    private let path: String
    private let transport = DefaultTransport.shared
    private(set) var statesSeen: [String] = []

    init(path: String) { self.path = path }

    func send(_ request: HTTPRequest, body: Data?, options: TransportOptions) async throws -> TransportResponse {
        if let key = request.headerFields[HTTPField.Name("Idempotency-Key")!] {
            var configuration = Configuration()
            configuration.readonly = true
            let reader = try DatabaseQueue(path: path, configuration: configuration)
            let state = try await reader.read { db in
                try String.fetchOne(db, sql: "SELECT state FROM entry WHERE uuid = ?", arguments: [key])
            }
            try reader.close()
            statesSeen.append(state ?? "absent")
        }
        return try await transport.send(request, body: body, options: options)
    }
}

/// Hostile or broken answers never crash the client and never leak a secret.
struct HostileServerTests {
    @Test(arguments: [
        ["Retry-After": "inf"], ["Retry-After": "1e300"], ["Retry-After": "-5"], ["Retry-After": "nan"],
        ["X-Ratelimit-Reset": "nan"], ["X-Ratelimit-Reset": "-1e300"], ["X-Ratelimit-Reset": "1e400"],
        ["X-Ratelimit-Limit": "many", "X-Ratelimit-Remaining": "-1"],
    ])
    func nonsenseHeadersOnA429StillQueueTheEntry(headers: [String: String]) async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 429, path: "/v1/agents", headers: headers))

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.entry.state == .queued)
            let next = try #require(delivery.entry.dueAt)
            #expect(next.timeIntervalSinceNow < 86_400 + 60)
        }
    }

    @Test func aTokenExchangeErrorThatEchoesTheRefreshTokenKeepsItOut() async throws {
        let folder = try TemporaryFolder()
        let refreshToken = "rt-ECHOED-SECRET-55aa"
        var configuration = PicusSandbox.Configuration()
        configuration.refreshToken = refreshToken
        let path = folder.path("journal.sqlite")
        try await withSandbox(configuration) { sandbox in
            await sandbox.addFault(SandboxFault(status: 400, path: "/v1/auth/token",
                                                body: #"{"message":"bad token \#(refreshToken)","refresh_token":"\#(refreshToken)"}"#))
            let client = try makeClient(folder: folder, sandbox: sandbox, refreshToken: refreshToken)

            let delivery = try await client.send(.get("/v1/agents"))

            #expect(delivery.entry.state == .failed)
            #expect(!delivery.summary.contains(refreshToken))
            let bytes = try await journalBytes(at: path)
            #expect(bytes.contains("/v1/agents"))
            #expect(!bytes.contains(refreshToken))
        }
    }
}
