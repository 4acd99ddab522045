import Foundation
import GRDB
import HTTPTypes
import Logging
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// A token that never changes, for servers that do no token exchange.
struct FixedToken: CredentialProvider {
    let token: String
    func accessToken(through exchange: TokenExchange) async throws -> String { token }
    func invalidate(_ token: String) async {}
}

/// Collects the messages a library logs, so a test can wait for one (an event, not a time).
final class LogEvents: LogHandler, @unchecked Sendable {
    // Only `continuation` is shared, and AsyncStream's continuation is thread-safe.
    let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init() { (stream, continuation) = AsyncStream<String>.makeStream() }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        continuation.yield(event.message.description)
    }

    /// Waits until a message containing `text` is logged.
    func waitFor(_ text: String) async {
        for await message in stream where message.contains(text) { return }
    }

    var logger: Logger { Logger(label: "test") { _ in self } }
}

/// What the journal makes of servers that redirect, drip, cut bodies short, or answer while it is locked.
@Suite(.timeLimit(.minutes(1)))
struct DeliveryTests {
    private func client(_ folder: TemporaryFolder, _ url: URL, journal: Journal.Configuration = Journal.Configuration(),
                        configure: (inout JournaledClient.Configuration) -> Void = { _ in }) throws -> JournaledClient {
        var configuration = JournaledClient.Configuration()
        configure(&configuration)
        return JournaledClient(journal: try Journal(path: folder.path("journal.sqlite"), configuration: journal), baseURL: url,
                               credentials: FixedToken(token: "secret-access-token"), configuration: configuration)
    }

    @Test func aRedirectIsJournaledAsTheAnswerAndTheTokenStaysWithTheOrigin() async throws {
        let folder = try TemporaryFolder()
        let elsewhere = try MisbehavingServer { _ in [MisbehavingServer.response("201 Created", body: "{}")] }
        let origin = try MisbehavingServer { request in
            [MisbehavingServer.response(request.method == "POST" ? "307 Temporary Redirect" : "302 Found",
                                        headers: ["Location": "\(elsewhere.url)/v1/elsewhere"])]
        }
        let client = try client(folder, origin.url)

        let get = try await client.send(.get("/v1/agents"))
        let post = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"moved"}"#))

        #expect(get.entry.lastStatus == 302)
        #expect(post.entry.lastStatus == 307)
        #expect(post.entry.state != .succeeded)
        let attempt = try #require(try await client.journal.attempts(ofEntry: get.entry.id).first)
        #expect(attempt.responseHeaders["location"] == "\(elsewhere.url)/v1/elsewhere")
        #expect(elsewhere.received.isEmpty)
        #expect(origin.received.allSatisfy { $0.headers["authorization"] == "Bearer secret-access-token" })
    }

    @Test func anAttemptAgainstADrippingServerEndsAtItsDeadlineAndWaitsForReplay() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 201 Created\r\nX-Slow: "), .drip(byte: UInt8(ascii: "a"), every: .milliseconds(100))]
        }
        let client = try client(folder, server.url) { $0.limits.timeout = .seconds(1) }

        let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"slow"}"#))

        #expect(delivery.entry.state == .queued)
        #expect(delivery.transportError?.kind == .timeout)
        #expect(delivery.entry.lastErrorMessage?.hasPrefix("outcome unknown") == true)
    }

    @Test func requestWithATimeoutEndsAgainstADrippingServerAndSaysTheEntryIsQueued() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"), .drip(byte: UInt8(ascii: "x"), every: .milliseconds(200))]
        }

        let result = try await runCLI(["request", "GET", "/v1/agents", "--timeout", "1", "--db", folder.path("journal.sqlite"),
                                       "--base-url", server.url.absoluteString], in: folder)

        // The status arrived, so it decides: the entry succeeded, and the cut body is one clear line.
        #expect(result.status == 1)
        #expect(result.stderr.contains("succeeded"))
        #expect(result.stderr.contains("was cut short"))
        #expect(result.stdout.isEmpty)
    }

    @Test func aServiceUnavailableWithAShortBodyIsStillQueued() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 500\r\nX-Foo: \r\nRetry-After: 1\r\n\r\n{\"message\":\"down"), .close]
        }
        let client = try client(folder, server.url)

        let delivery = try await client.send(.get("/v1/agents"))

        #expect(delivery.entry.state == .queued)
        #expect(delivery.entry.lastStatus == 503)
    }

    @Test func aLeaseShorterThanTheAttemptIsRenewedAndAnotherReplayerSendsNothing() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in [.waitForGate, MisbehavingServer.response("201 Created", body: "{}")] }
        let events = LogEvents()
        let client = try client(folder, server.url) {
            $0.leases.duration = .milliseconds(300)
            $0.observability.logger = events.logger
        }
        let sending = Task { try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"held"}"#)) }
        await server.waitForRequests(1)
        let first = try #require(try await client.journal.entries(matching: JournalQuery(limit: nil)).first)
        let firstExpiry = try #require(first.leaseExpiresAt)

        // Four renewals, each at least a third of the lease after the one before: the lease has
        // outlived where it first ended, and is still the sender's.
        for _ in 0..<4 { await events.waitFor("lease renewed") }
        let renewed = try #require(try await client.journal.entry(id: first.id))
        let other = try await runCLI(["replay", "--db", folder.path("journal.sqlite"), "--base-url", server.url.absoluteString],
                                     in: folder)
        server.openGate()
        let delivery = try await sending.value

        #expect(renewed.state == .inFlight)
        #expect(try #require(renewed.leaseExpiresAt) > firstExpiry)
        #expect(other.status == 0)
        #expect(other.stdout.contains("Replayed 0"))
        #expect(delivery.entry.state == .succeeded)
        #expect(server.received.count == 1)
    }

    @Test func anOutcomeThatArrivesWhileTheJournalIsLockedIsRecordedOnceTheLockGoes() async throws {
        let folder = try TemporaryFolder()
        let events = LogEvents()
        let server = try MisbehavingServer { _ in [.waitForGate, MisbehavingServer.response("201 Created", body: "{}")] }
        var journalConfiguration = Journal.Configuration()
        journalConfiguration.limits.busyTimeout = .milliseconds(100)
        let client = try client(folder, server.url, journal: journalConfiguration) { $0.observability.logger = events.logger }
        let sending = Task { try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"locked"}"#)) }
        await server.waitForRequests(1)

        let locker = try await JournalLocker(path: folder.path("journal.sqlite"))
        server.openGate()
        await events.waitFor("outcome not recorded yet")
        locker.release()
        let delivery = try await sending.value

        #expect(delivery.entry.state == .succeeded)
        #expect(try await client.journal.entry(id: delivery.entry.id)?.state == .succeeded)
        #expect(server.received.count == 1)
    }

    @Test func anOutcomeGivenUpUnderALongLockIsRecordedFromItsNoteAndNotSentAgain() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in [.waitForGate, MisbehavingServer.response("201 Created", body: "{}")] }
        var journalConfiguration = Journal.Configuration()
        journalConfiguration.limits.busyTimeout = .milliseconds(100)
        let client = try client(folder, server.url, journal: journalConfiguration) { $0.leases.duration = .milliseconds(300) }
        let sending = Task { try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"given-up"}"#)) }
        await server.waitForRequests(1)

        let locker = try await JournalLocker(path: folder.path("journal.sqlite"))
        server.openGate()
        let failure = await #expect(throws: JournalError.self) { try await sending.value }
        locker.release()
        let summary = try await ReplayEngine(client: client).drain()

        #expect(failure?.description.contains("could not be recorded: the journal was locked") == true)
        #expect(summary.recovered.count == 1)
        let entry = try #require(try await client.journal.entries(matching: JournalQuery(limit: nil)).first)
        #expect(entry.state == .succeeded)
        let history = try await client.journal.attempts(ofEntry: entry.id)
        #expect(history.last?.error?.message?.contains("the journal was locked") == true)
        #expect(server.received.count == 1)
    }

    @Test func aNeverReplayedOverrideHoldsAfterItsSenderDied() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in [MisbehavingServer.response("201 Created", body: "{}")] }
        let path = folder.path("journal.sqlite")
        // The sender's process dies in the middle of the attempt: its lease names a process that is gone.
        let dying = DyingTransport(journalPath: path)
        var policy = RetryPolicy()
        policy.overrides = [.init(method: "POST", path: "/v1/simulations", isReplayable: false)]
        var configuration = JournaledClient.Configuration()
        configuration.retryPolicy = policy
        let sender = JournaledClient(journal: try Journal(path: path), baseURL: server.url, transport: dying, configuration: configuration)
        _ = try await sender.send(.post("/v1/simulations", json: #"{"simulation_name":"once"}"#))

        // A replayer that knows nothing of the override.
        let replayer = JournaledClient(journal: try Journal(path: path), baseURL: server.url)
        let summary = try await ReplayEngine(client: replayer).drain()

        #expect(summary.recovered.count == 1)
        #expect(summary.replayed == 0)
        let entry = try #require(try await replayer.journal.entries(matching: JournalQuery(limit: nil)).first)
        #expect(entry.isReplayable == false)
        #expect(entry.state == .failed)
        #expect(server.received.isEmpty)
    }

    @Test func aHundredProcessesCreatingOneJournalAllSendTheirRequest() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("new/journal.sqlite")
        try await withSandbox(.unlimited) { sandbox in
            let environment = ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token"]
            let results = try await withThrowingTaskGroup(of: CommandResult.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await runCLI(["request", "GET", "/v1/agents", "--db", db], environment: environment, in: folder) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            #expect(results.filter { $0.status != 0 }.map(\.stderr) == [])
            #expect(await sandbox.receivedRequests().filter { $0.path == "/v1/agents" }.count == 100)
            #expect(try await Journal(path: db).countsByState() == [.succeeded: 100])
        }
    }
}

/// A transport whose process "dies" mid-attempt: it hands the entry's lease to a process that no
/// longer exists on this host, then fails, so the sender's record cannot move the entry.
struct DyingTransport: HTTPTransport {
    let journalPath: String

    func send(_ request: HTTPRequest, body: Data?, options: TransportOptions) async throws -> TransportResponse {
        let key = request.headerFields[HTTPField.Name("Idempotency-Key")!] ?? ""
        let queue = try DatabaseQueue(path: journalPath)
        try await queue.write { db in
            try db.execute(sql: "UPDATE entry SET leaseOwner = ? WHERE uuid = ?",
                           arguments: ["\(OwnerLock.hostName):2147483000:gone/x", key])
        }
        try queue.close()
        throw TransportError(.reset, "the process died", phase: .afterSending)
    }
}

/// Another connection that holds a journal's exclusive write lock until released, on a thread of its own.
final class JournalLocker: Sendable {
    private let released = DispatchSemaphore(value: 0)

    init(path: String) async throws {
        // It waits for the writer's lease renewal to commit rather than fail at once.
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let released = self.released
        try await withCheckedThrowingContinuation { (locked: CheckedContinuation<Void, any Error>) in
            Thread {
                do {
                    try queue.inDatabase { db in
                        try db.execute(sql: "BEGIN EXCLUSIVE")
                        locked.resume()
                        released.wait()
                        try db.execute(sql: "COMMIT")
                    }
                } catch {
                    locked.resume(throwing: error)
                }
            }.start()
        }
    }

    func release() { released.signal() }
}

/// The notes a sender leaves when it lets go of entries outlive it, and every one of them is read.
struct LeaseNoteTests {
    @Test func notesOutliveTheirSenderAndEachEntryIsRecoveredFromItsOwn() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        var sender: Journal? = try Journal(path: path)
        var leases: [String] = []
        var ids: [Int64] = []
        for status in [201, 503] {
            let lease = "\(try sender!.ownerLock().owner.text)/\(status)"
            let entry = try await sender!.insert(NewEntry(
                method: "POST", path: "/v1/simulations", headers: [:], state: .inFlight, leaseOwner: lease,
                leaseExpiresAt: Date().addingTimeInterval(3600), createdAt: Date()))
            try sender!.ownerLock().leaveNote(OwnerLock.Note(status: status, reason: "the journal was locked by another process"), forLease: lease)
            leases.append(lease)
            ids.append(entry.id)
        }
        sender = nil  // the process "exits": its lock goes, its notes stay

        let recoverer = try Journal(path: path)
        let recovered = try await recoverer.recoverAbandoned(now: Date(), replay: true)

        #expect(Set(recovered) == Set(ids))
        #expect(try await recoverer.entry(id: ids[0])?.state == .succeeded)
        #expect(try await recoverer.entry(id: ids[1])?.state == .queued)
        #expect(try await recoverer.attempts(ofEntry: ids[1]).last?.error?.message?.contains("HTTP 503") == true)
        let files = try FileManager.default.contentsOfDirectory(atPath: OwnerLock.folder(forJournal: path))
        #expect(files.isEmpty, "the dead sender's file, notes and all, is removed once they are recorded: \(files)")
    }
}
