import Foundation
import HTTPTypes
@testable import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

@Suite(.timeLimit(.minutes(1)))
struct ReplayEngineTests {
    private func key(_ entry: Entry) -> String { entry.uuid.uuidString.lowercased() }

    @Test func anOutageThenRecoveryDeliversEveryQueuedEntryExactlyOnce() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 503, count: 5, path: "/v1/simulations"))
            var queued: [Entry] = []
            for index in 0..<5 {
                queued.append(try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"outage-\#(index)"}"#)).entry)
            }
            #expect(queued.allSatisfy { $0.state == .queued })

            let summary = try await ReplayEngine(client: client).drain(.init(force: true))

            #expect(summary.replayed == 5)
            #expect(summary.succeeded.count == 5)
            let received = await sandbox.receivedRequests()
            for entry in queued {
                let sent = received.filter { $0.idempotencyKey == key(entry) }
                #expect(sent.map(\.status) == [503, 201], "entry \(entry.id)")
            }
            let again = try await ReplayEngine(client: client).drain(.init(force: true))
            #expect(again.replayed == 0)
        }
    }

    @Test func aDrainSendsNothingBeforeTheTimeTheServerAskedEvenWithForce() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/agents", retryAfter: "3600"))
            let entry = try await client.send(.get("/v1/agents")).entry

            let summary = try await ReplayEngine(client: client).drain(.init(force: true))

            #expect(summary.replayed == 0)
            #expect(try await client.journal.entry(id: entry.id)?.state == .queued)
            #expect(await sandbox.receivedRequests().filter { $0.idempotencyKey == key(entry) }.count == 1)
        }
    }

    /// Queues an entry with `fault`, replays it with `run()`, and returns when the replay arrived,
    /// the earliest time the journal recorded for it, and the send that got the fault.
    private func replayTime(after fault: SandboxFault, path: String) async throws -> (sent: Date, notBefore: Date, failedAt: Date) {
        let folder = try TemporaryFolder()
        return try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(fault)
            let entry = try await client.send(.get(path)).entry
            #expect(entry.state == .queued)
            let notBefore = try #require(entry.notBefore)
            let engine = ReplayEngine(client: client)
            let runner = Task { try await engine.run() }

            let received = await sandbox.receivedRequests { requests in
                requests.contains { $0.idempotencyKey == entry.uuid.uuidString.lowercased() && $0.status == 200 }
            }
            runner.cancel()
            try await runner.value
            let sends = received.filter { $0.idempotencyKey == key(entry) }
            let failed = try #require(sends.first)
            let replay = try #require(sends.last)
            return (Date(timeIntervalSince1970: Double(replay.receivedAt) / 1000), notBefore,
                    Date(timeIntervalSince1970: Double(failed.receivedAt) / 1000))
        }
    }

    @Test func retryAfterInSecondsIsObeyed() async throws {
        let result = try await replayTime(after: SandboxFault(status: 503, path: "/v1/agents", retryAfter: "2"), path: "/v1/agents")
        #expect(result.notBefore >= result.failedAt.addingTimeInterval(2))
        #expect(result.sent >= result.notBefore)
    }

    @Test func retryAfterAsAnHTTPDateIsObeyed() async throws {
        let when = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3).rounded(.up))
        let result = try await replayTime(after: SandboxFault(status: 429, path: "/v1/agents", retryAfter: HTTPDate.string(from: when)),
                                          path: "/v1/agents")
        #expect(result.notBefore == when)
        #expect(result.sent >= when)
    }

    @Test func theRateLimitResetIsObeyed() async throws {
        let reset = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 2).rounded(.up))
        let fault = SandboxFault(status: 429, path: "/v1/templates", headers: [
            "X-Ratelimit-Limit": "10", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": String(Int(reset.timeIntervalSince1970)),
        ])
        let result = try await replayTime(after: fault, path: "/v1/templates")
        #expect(result.notBefore == reset)
        #expect(result.sent >= reset)
    }

    @Test func a429HoldsBackItsWholeEndpointButNotOthers() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 429, path: "/v1/agents/1", retryAfter: "3600"))
            _ = try await client.send(.get("/v1/agents/1"))
            let sameEndpoint = try await client.enqueue(.get("/v1/agents/2"))
            let otherEndpoint = try await client.enqueue(.get("/v1/templates"))

            let summary = try await ReplayEngine(client: client).drain(.init(force: true))

            #expect(summary.items.map(\.entry.id) == [otherEndpoint.id])
            #expect(try await client.journal.entry(id: sameEndpoint.id)?.state == .pending)
            #expect(try await client.journal.holds().map(\.key) == ["GET /v1/agents/{id}"])
        }
    }

    @Test func aReplayStartsNoMoreSendsThanTheBudgetAllowsAndProvokesNo429() async throws {
        let folder = try TemporaryFolder()
        // A window of a day: with the API's minute, a run that crossed the minute's end met a fresh
        // budget halfway, and failed.
        var configuration = PicusSandbox.Configuration()
        configuration.rateLimitWindow = .seconds(86_400)
        try await withSandbox(configuration) { sandbox in
            await sandbox.setRateLimit(5, for: "POST /v1/simulations")
            let client = try makeClient(folder: folder, sandbox: sandbox)
            // One answer with the headers: 4 of 5 left in this window.
            _ = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"first"}"#))
            try await enqueueSimulations(12, named: "paced", on: client)
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = 8

            let summary = try await ReplayEngine(client: client, configuration: configuration).drain()

            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            #expect(received.filter { $0.status == 429 }.isEmpty, "the replayer provoked a 429")
            // 4 left in the window; more only if the minute ended meanwhile (a fresh window of 5).
            #expect(summary.succeeded.count == 4 || (summary.succeeded.count > 4 && summary.succeeded.count <= 9),
                    "\(summary.items.map(\.summary))")
            #expect(try await client.journal.countsByState()[.pending] == 12 - summary.succeeded.count)
            let hold = try #require(try await client.journal.holds().first { $0.key == "POST /v1/simulations" })
            #expect(hold.reason.contains("X-Ratelimit-Remaining: 0"))
            // The rest waits for the window's reset: that is when the replayer wakes next.
            #expect(try await client.journal.nextWakeDate().map { abs($0.timeIntervalSince(hold.until)) < 1 } == true)
        }
    }

    @Test func consecutiveOutagesBackTheWholeHostOff() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            _ = try await client.send(.get("/v1/agents"))
            for index in 0..<6 { try await client.enqueue(.get("/v1/agents/\(index % 3 + 1)")) }
            await sandbox.addFault(SandboxFault(status: 503, count: 100, path: "/v1/agents/*"))
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = 1
            configuration.limits.outagesBeforeHostBackoff = 3

            let summary = try await ReplayEngine(client: client, configuration: configuration).drain()

            #expect(summary.replayed == 3)
            #expect(summary.hostBackedOffUntil != nil)
            #expect(try await client.journal.holds().contains { $0.key == "*" })
            #expect(try await client.journal.countsByState()[.pending] == 3)
        }
    }

    /// A worker claims its next entry in the transaction that records its current one: the drain's
    /// limit counts those claims too, and nothing claimed ahead is left leased when the drain ends.
    @Test func aDrainWithALimitSendsThatManyAndLeavesNothingLeased() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            try await enqueueSimulations(10, named: "limit", on: client)
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = 4

            let first = try await ReplayEngine(client: client, configuration: configuration).drain(.init(limit: 6))

            #expect(first.replayed == 6)
            #expect(try await client.journal.countsByState() == [.succeeded: 6, .pending: 4])
            let rest = try await ReplayEngine(client: client, configuration: configuration).drain()
            #expect(rest.replayed == 4)
            #expect(try await client.journal.countsByState() == [.succeeded: 10])
            #expect(await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }.count == 10)
        }
    }

    /// After a passing outage, the worker that met it claims one entry for itself: the others carry
    /// their next entries already, and nothing is claimed for nobody to sit leased, unsent, until the
    /// drain ends.
    @Test func aPassingOutageMidDrainStillSendsEveryEntryInThePass() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            try await enqueueSimulations(12, named: "blip", on: client)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations"))
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = 4

            let summary = try await ReplayEngine(client: client, configuration: configuration).drain()

            #expect(summary.replayed == 12)
            #expect(try await client.journal.countsByState() == [.succeeded: 11, .queued: 1])
        }
    }

    /// After an outage a worker claims nothing with its outcome; the entries other workers claimed
    /// ahead are sent or given back, and none is left leased to the live process.
    @Test func anOutageMidDrainLeavesNoEntryLeased() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            try await enqueueSimulations(12, named: "outage", on: client)
            await sandbox.addFault(SandboxFault(status: 503, count: 100, path: "/v1/simulations"))
            var configuration = ReplayEngine.Configuration()
            configuration.limits.concurrency = 4
            configuration.limits.outagesBeforeHostBackoff = 2

            let summary = try await ReplayEngine(client: client, configuration: configuration).drain()

            #expect(summary.hostBackedOffUntil != nil)
            let counts = try await client.journal.countsByState()
            #expect(counts[.inFlight] == nil, "nothing left leased: \(counts)")
            #expect(counts[.queued, default: 0] == summary.replayed)
            #expect(counts[.pending, default: 0] == 12 - summary.replayed)
            #expect(summary.replayed < 12, "the host backoff stopped the drain")
        }
    }

    @Test func anEntryWhoseSenderDiedIsTakenBackAndReplayedWithItsKey() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let orphan = try await client.journal.insert(NewEntry(
                method: "POST", path: "/v1/simulations", headers: ["content-type": "application/json"],
                body: Data(#"{"simulation_name":"orphan"}"#.utf8), state: .inFlight, leaseOwner: "dead-process",
                leaseExpiresAt: Date().addingTimeInterval(-1), createdAt: Date().addingTimeInterval(-60)))

            let summary = try await ReplayEngine(client: client).drain()

            #expect(summary.recovered == [orphan.id])
            #expect(summary.succeeded.map(\.id) == [orphan.id])
            let attempts = try await client.journal.attempts(ofEntry: orphan.id)
            #expect(attempts.map(\.transportError) == [.abandoned, nil])
            #expect(attempts.map(\.status) == [nil, 201])
            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            #expect(received.map(\.idempotencyKey) == [key(orphan)])
        }
    }

    @Test func aLiveLeaseIsNeverTakenEvenWithForce() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let busy = try await client.journal.insert(NewEntry(
                method: "GET", path: "/v1/agents", headers: [:], state: .inFlight, leaseOwner: "someone-else",
                leaseExpiresAt: Date().addingTimeInterval(3600), createdAt: Date()))

            let summary = try await ReplayEngine(client: client).drain(.init(force: true))

            #expect(summary.replayed == 0)
            #expect(try await client.journal.entry(id: busy.id)?.leaseOwner == "someone-else")
        }
    }

    @Test func parkingAbandonedEntriesLeavesThemForAnOperator() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let orphan = try await client.journal.insert(NewEntry(
                method: "POST", path: "/v1/simulations", headers: [:], body: Data("{}".utf8), state: .inFlight,
                leaseOwner: "dead", leaseExpiresAt: Date().addingTimeInterval(-1), createdAt: Date()))
            var configuration = ReplayEngine.Configuration()
            configuration.leases.replaysAbandonedEntries = false

            let summary = try await ReplayEngine(client: client, configuration: configuration).drain()

            #expect(summary.replayed == 0)
            let parked = try #require(try await client.journal.entry(id: orphan.id))
            #expect(parked.state == .failed)
            #expect(parked.lastErrorMessage?.contains("parked for an operator") == true)
            #expect(await sandbox.receivedRequests().isEmpty)
        }
    }

    @Test func anEntryExpiresWhenItsAttemptsAreSpent() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox) { $0.retryPolicy.maximumAttempts = 2 }
            await sandbox.addFault(SandboxFault(status: 503, count: 2, path: "/v1/agents"))
            let entry = try await client.send(.get("/v1/agents")).entry

            let summary = try await ReplayEngine(client: client).drain(.init(force: true))

            #expect(summary.expired.map(\.id) == [entry.id])
            #expect(try await client.journal.entry(id: entry.id)?.attemptCount == 2)
        }
    }

    @Test func aPendingEntryIsDeliveredAndASucceededOneNeverAgain() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let pending = try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"later"}"#))
            #expect(pending.state == .pending)

            let first = try await ReplayEngine(client: client).drain()
            let second = try await ReplayEngine(client: client).drain(.init(force: true))

            #expect(first.succeeded.map(\.id) == [pending.id])
            #expect(second.replayed == 0)
            await #expect(throws: JournalError.self) { try await client.journal.requeue(entry: pending.id, policy: RetryPolicy()) }
            #expect(await sandbox.receivedRequests().filter { $0.idempotencyKey == key(pending) }.count == 1)
        }
    }

    @Test func cancelAndRequeueMoveAnEntryAsAnOperatorAsks() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let entry = try await client.enqueue(.get("/v1/agents"))

            let cancelled = try await client.journal.cancel(entry: entry.id)
            let nothing = try await ReplayEngine(client: client).drain(.init(force: true))
            let requeued = try await client.journal.requeue(entry: entry.id, policy: RetryPolicy())
            let delivered = try await ReplayEngine(client: client).drain()

            #expect(cancelled.state == .cancelled)
            #expect(nothing.replayed == 0)
            #expect(requeued.state == .queued)
            #expect(delivered.succeeded.map(\.id) == [entry.id])
            await #expect(throws: JournalError.self) { try await client.journal.cancel(entry: entry.id) }
        }
    }

    @Test func runStopsCleanlyWhenCancelled() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let engine = ReplayEngine(client: client)
            let runner = Task { try await engine.run() }
            let entry = try await client.enqueue(.get("/v1/agents"))
            _ = await sandbox.receivedRequests { $0.contains { $0.idempotencyKey == entry.uuid.uuidString.lowercased() } }

            runner.cancel()
            try await runner.value

            let journal = client.journal
            let stored = try await journal.entry(id: entry.id)
            #expect(stored?.state == .succeeded)
        }
    }

    @Test func anAgentAwaitsAQueuedEntrysFinalOutcomeFromARunningEngine() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/agents", retryAfter: "0"))
            let queued = try await client.send(.get("/v1/agents")).entry
            #expect(queued.state == .queued)
            let engine = ReplayEngine(client: client)
            let listener = engine.outcomes()
            let running = Task { try await engine.run() }

            let final = try await engine.finalOutcome(ofEntry: queued.id)
            running.cancel()
            try await running.value

            #expect(final.state == .succeeded)
            var seen: [Int64] = []
            for await item in listener {
                seen.append(item.entry.id)
                break
            }
            #expect(seen == [queued.id])
            // A final entry is returned at once.
            #expect(try await engine.finalOutcome(ofEntry: queued.id).state == .succeeded)
            await #expect(throws: JournalError.self) { _ = try await engine.finalOutcome(ofEntry: 999_999) }
        }
    }
}

/// Leases: a sender that lost its entry never moves it, and history never collides.
struct LeaseTests {
    @Test func aSenderWhoseLeaseWasTakenRecordsNothing() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let entry = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .inFlight,
                                                       leaseOwner: "late", leaseExpiresAt: Date().addingTimeInterval(-1), createdAt: Date()))
        _ = try await journal.recoverAbandoned(now: Date(), replay: true)
        let claimed = try await journal.claim(ClaimFilter(force: true), limit: 1, owner: "new", leaseDuration: .seconds(60), now: Date())
        #expect(claimed.map(\.id) == [entry.id])

        let afterLate = try await journal.record(
            NewAttempt(number: 1, startedAt: Date(), durationMs: 1, status: 503, outcome: .retryable, responseHeaders: [:]),
            forEntry: entry.id, leaseOwner: "late", then: EntryTransition(state: .queued, nextAttemptAt: Date()))

        #expect(afterLate.state == .inFlight)
        #expect(afterLate.leaseOwner == "new")
        // Only the abandoned attempt is history: the late one was dropped. The new holder's next is 2, and so is a second recovery's.
        let attempts = try await journal.attempts(ofEntry: entry.id)
        #expect(attempts.map(\.number) == [1])
        _ = try await journal.renewLeases([(entry.id, "new")], until: Date().addingTimeInterval(-1))
        _ = try await journal.recoverAbandoned(now: Date(), replay: true)
        #expect(try await journal.attempts(ofEntry: entry.id).map(\.number) == [1, 2])
    }

    @Test func aLateSuccessDoesNotMoveAnEntryTakenBack() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let entry = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .inFlight,
                                                       leaseOwner: "slow", leaseExpiresAt: Date().addingTimeInterval(-1), createdAt: Date()))
        _ = try await journal.recoverAbandoned(now: Date(), replay: true)

        let updated = try await journal.record(
            NewAttempt(number: 1, startedAt: Date(), durationMs: 1, status: 200, outcome: .success, responseHeaders: [:]),
            forEntry: entry.id, leaseOwner: "slow", then: EntryTransition(state: .succeeded))

        // The recovery decided: queued, to be replayed with the same Idempotency-Key.
        #expect(updated.state == .queued)
    }

    @Test func anAbandonedTokenExchangeIsNeverReplayed() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let entry = try await journal.insert(NewEntry(method: "POST", path: "/v1/auth/token", headers: [:], state: .inFlight,
                                                       leaseOwner: "dead", leaseExpiresAt: Date().addingTimeInterval(-1), createdAt: Date(),
                                                       isReplayable: false))

        _ = try await journal.recoverAbandoned(now: Date(), replay: true)

        #expect(try await journal.entry(id: entry.id)?.state == .failed)
        await #expect(throws: JournalError.self) { try await journal.requeue(entry: entry.id, policy: RetryPolicy()) }
    }
}

/// What at-least-once means for a POST the server processed but never answered.
struct AtLeastOnceTests {
    private func orphanOfAProcessedRequest(sandbox: PicusSandbox, client: JournaledClient) async throws -> Entry {
        // The server processes the request; its sender dies before recording the answer.
        let entry = try await client.journal.insert(NewEntry(
            method: "POST", path: "/v1/simulations", headers: ["content-type": "application/json"],
            body: Data(#"{"simulation_name":"processed"}"#.utf8), state: .inFlight, leaseOwner: "dead",
            leaseExpiresAt: Date().addingTimeInterval(-1), createdAt: Date()))
        let token = try await RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url).accessToken()
        let first = try await DefaultTransport.shared.send(HTTPRequest(
            method: .post, url: sandbox.url.appendingPathComponent("v1/simulations"),
            headerFields: [.authorization: "Bearer \(token)", .contentType: "application/json",
                           HTTPField.Name("Idempotency-Key")!: entry.uuid.uuidString.lowercased()]),
            body: entry.requestBody, options: TransportOptions())
        #expect(first.status == 201)
        return entry
    }

    @Test func aServerThatHonoursTheKeyAnswersTheReplayWithItsFirstAnswer() async throws {
        let folder = try TemporaryFolder()
        var configuration = PicusSandbox.Configuration()
        configuration.honoursIdempotencyKeys = true
        try await withSandbox(configuration) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let entry = try await orphanOfAProcessedRequest(sandbox: sandbox, client: client)

            let summary = try await ReplayEngine(client: client).drain()

            #expect(summary.succeeded.map(\.id) == [entry.id])
            #expect(summary.items.first?.entry.lastStatus == 201)
        }
    }

    @Test func aServerThatIgnoresTheKeySeesADuplicateAndTheJournalShowsWhy() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let entry = try await orphanOfAProcessedRequest(sandbox: sandbox, client: client)

            let summary = try await ReplayEngine(client: client).drain()

            #expect(summary.failed.map(\.id) == [entry.id])
            let attempts = try await client.journal.attempts(ofEntry: entry.id)
            #expect(attempts.map(\.transportError) == [.abandoned, nil])
            #expect(attempts.last?.error?.message == "simulation_already_exist")
        }
    }
}
