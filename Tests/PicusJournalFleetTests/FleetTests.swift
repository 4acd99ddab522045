import Foundation
import GRDB
@testable import PicusJournal
@testable import PicusJournalFleet
import PostgresNIO
import NIOCore
import Testing
import PicusJournalTesting
import PicusSandbox
import PicusJournalFixtures
import PicusJournalTestSupport

/// `picus-journal ship` and the read side on a fleet store, against the real PostgreSQL that
/// `.ci/run` starts. Serialized: one test stops and starts that server.
@Suite(.serialized, .timeLimit(.minutes(2)), .enabled(if: TestPostgres.isAvailable, "needs PICUS_TEST_POSTGRES_URL: run bash .ci/run, or source scripts/test-postgres.sh"))
struct FleetTests {
    /// A journal of one agent: the standard seeds and two 429s, one of them older than a day.
    private func agentJournal() async throws -> SeededJournal {
        try await SeededJournal(SeededJournal.standard + [
            .init(name: "limited", method: "POST", path: "/v1/simulations", ageHours: 3, status: 429, message: "too many requests", state: .queued),
            .init(name: "limited-old", path: "/v1/agents", ageHours: 40, status: 429, message: "too many requests", state: .failed),
        ])
    }

    private func ship(_ seeded: SeededJournal, to url: String, as agent: String, _ extra: [String] = []) async throws -> CommandResult {
        try await runCLI(["ship", "--db", seeded.journal.path, "--to", url, "--agent", agent] + extra,
                         environment: TestPostgres.cliEnvironment, in: seeded.folder)
    }

    private func fleet(_ arguments: [String], _ url: String, in folder: TemporaryFolder) async throws -> CommandResult {
        try await runCLI(["--db", url] + arguments, environment: TestPostgres.cliEnvironment, in: folder)
    }

    private func objects(_ result: CommandResult) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: result.stdoutData) as? [[String: Any]], "\(result.stderr)")
    }

    @Test func twoAgentsAreShippedAndQueriedAsOneFleet() async throws {
        let url = try await TestPostgres.freshDatabase()
        let siteA = try await agentJournal()
        let siteB = try await agentJournal()
        let first = try await ship(siteA, to: url, as: "site-a")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Shipped 10 entries and 9 attempts"))
        #expect(try await ship(siteB, to: url, as: "site-b").status == 0)

        // The issue's question: which agents saw 429s in the last day?
        let limited = try await fleet(["list", "--status", "429", "--since", "24h", "--format", "json"], url, in: siteA.folder)
        #expect(limited.status == 0, "\(limited.stderr)")
        let rows = try objects(limited)
        #expect(rows.count == 2)
        #expect(Set(rows.compactMap { $0["agent"] as? String }) == ["site-a", "site-b"])
        #expect(rows.allSatisfy { $0["status"] as? Int == 429 && $0["path"] as? String == "/v1/simulations" })

        let onlyB = try objects(try await fleet(["list", "--status", "429", "--agent", "site-b", "--format", "json"], url, in: siteA.folder))
        #expect(onlyB.count == 2)
        #expect(onlyB.allSatisfy { $0["agent"] as? String == "site-b" })

        let table = try await fleet(["list", "--status", "429", "--since", "24h"], url, in: siteA.folder)
        #expect(table.stdout.hasPrefix("AGENT"))
        #expect(table.stdout.contains("site-a") && table.stdout.contains("site-b"))

        let stats = try await fleet(["stats", "--by", "agent", "--format", "json"], url, in: siteA.folder)
        let statistics = try #require(try JSONSerialization.jsonObject(with: stats.stdoutData) as? [String: Any])
        #expect(statistics["total"] as? Int == 20)
        let groups = try #require(statistics["groups"] as? [[String: Any]])
        #expect(groups.map { $0["key"] as? String } == ["site-a", "site-b"])
        #expect(groups.allSatisfy { $0["count"] as? Int == 10 })

        let id = try #require(rows.first?["id"] as? Int)
        let shown = try await fleet(["show", String(id), "--format", "json"], url, in: siteA.folder)
        let detail = try #require(try JSONSerialization.jsonObject(with: shown.stdoutData) as? [String: Any])
        #expect(detail["agent"] as? String == rows.first?["agent"] as? String)
        #expect((detail["history"] as? [[String: Any]])?.first?["status"] as? Int == 429)

        let csv = try await fleet(["export", "--format", "csv", "--agent", "site-a"], url, in: siteA.folder)
        let lines = CSVReader.parse(csv.stdout)
        #expect(lines.first?.first == "agent")
        #expect(lines.count == 1 + 10)
        #expect(lines.dropFirst().allSatisfy { $0.first == "site-a" })
        let ndjson = try await fleet(["export", "--format", "ndjson", "--status", "4xx"], url, in: siteA.folder)
        #expect(ndjson.stdout.split(separator: "\n").count == 10)
        #expect(ndjson.stderr.contains("exported 10 entries"))
    }

    @Test func theSameQueryAnswersTheSameOnTheJournalAndTheFleet() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        // An entry whose first attempt got a 503 and whose replay succeeded: found on any attempt only.
        try await PicusSandbox.withRunning { sandbox in
            await sandbox.addFault(SandboxFault(status: 503, count: 1, method: "POST", path: "/v1/simulations"))
            let client = sandbox.client(on: seeded.journal)
            let first = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"retried"}"#))
            #expect(first.entry.state == .queued)
            let replayed = try await ReplayEngine(client: client).drain(.init(entryID: first.entry.id, force: true))
            #expect(replayed.succeeded.count == 1)
        }
        #expect(try await ship(seeded, to: url, as: "only").status == 0)
        let store = try await FleetStore.connect(to: try FleetLocation(url), environment: TestPostgres.cliEnvironment)
        defer { Task { await store.close() } }
        try await store.checkSchema()

        var queries: [JournalQuery] = [
            JournalQuery(), JournalQuery(statuses: [.code(429)]), JournalQuery(statuses: [.class(4), .code(503)]),
            JournalQuery(states: [.queued, .pending]), JournalQuery(since: seeded.now.addingTimeInterval(-24 * 3600)),
            JournalQuery(since: seeded.now.addingTimeInterval(-300 * 3600), until: seeded.now.addingTimeInterval(-30 * 3600)),
            JournalQuery(limit: 3),
        ]
        for glob in ["/v1/simulations*", "/v1/simulations/[0-9]*", "/v1/agents/?", "*cancel", "/v1/[!s]*", "/v1/[^s]*"] {
            var query = JournalQuery()
            query.pathGlob = glob
            queries.append(query)
        }
        for text in ["validation", "VALID", "un", "%", "_", "Gateway Time"] {
            var query = JournalQuery()
            query.text = text
            queries.append(query)
        }
        var query = JournalQuery(states: [.failed])
        query.methods = ["GET"]
        queries.append(query)
        query = JournalQuery()
        query.errorCodes = ["1001"]
        queries.append(query)
        // The same filters on any one attempt of an entry's history, not only its last.
        let onAnyAttempt = queries.filter { !$0.statuses.isEmpty || !$0.errorCodes.isEmpty || $0.text != nil }.map {
            var query = $0
            query.anyAttempt = true
            return query
        }
        queries += onAnyAttempt
        var differs = false
        for query in onAnyAttempt {
            var last = query
            last.anyAttempt = false
            if try await seeded.journal.entries(matching: query).map(\.uuid) != seeded.journal.entries(matching: last).map(\.uuid) { differs = true }
        }
        #expect(differs, "the seeds have an entry whose earlier attempt matches where its last does not")

        for query in queries {
            let local = try await seeded.journal.entries(matching: query).map(\.uuid)
            let fleet = try await store.page(matching: query).entries
            #expect(fleet.map(\.uuid) == local, "\(query)")
            #expect(fleet.allSatisfy { $0.agent == "only" })
        }

        // Pages: the cursor walks the fleet as it walks the journal.
        var cursor: JournalQuery.Cursor?
        var walked: [UUID] = []
        repeat {
            var page = JournalQuery(limit: 4)
            page.after = cursor
            let result = try await store.page(matching: page)
            walked += result.entries.map(\.uuid)
            cursor = result.nextCursor
        } while cursor != nil
        #expect(walked == (try await seeded.journal.entries(matching: JournalQuery(limit: nil)).map(\.uuid)))

        var everyAttempt = JournalQuery()
        everyAttempt.anyAttempt = true
        for (grouping, query) in [nil, Statistics.Grouping.status, .path, .errorCode, .day].map({ ($0, JournalQuery()) })
            + [(.status, everyAttempt), (.errorCode, everyAttempt)]
        {
            let local = try await seeded.journal.statistics(matching: query, by: grouping)
            let fleet = try await store.statistics(matching: query, by: grouping)
            #expect(fleet.total == local.total)
            #expect(fleet.byState == local.byState)
            #expect(fleet.topErrors.map(\.message) == local.topErrors.map(\.message))
            #expect(fleet.groups.map(\.key) == local.groups.map(\.key), "\(String(describing: grouping))")
            #expect(fleet.groups.map(\.count) == local.groups.map(\.count))
            #expect(fleet.oldestQueued?.createdAt == local.oldestQueued?.createdAt)
        }

        // An entry and its attempts come back as the journal has them.
        let localEntry = try #require(try await seeded.journal.entry(id: seeded.ids["invalid"]!))
        let fleetEntry = try #require(try await store.page(matching: JournalQuery(statuses: [.code(422)])).entries.first)
        #expect(fleetEntry.lastErrors == localEntry.lastErrors)
        #expect(fleetEntry.createdAt == localEntry.createdAt)
        let localAttempts = try await seeded.journal.attempts(ofEntry: localEntry.id)
        let fleetAttempts = try await store.attempts(ofEntry: fleetEntry.id)
        #expect(fleetAttempts.map(\.status) == localAttempts.map(\.status))
        #expect(fleetAttempts.map(\.error?.errors) == localAttempts.map(\.error?.errors))
        // Headers arrive redacted, as exports show them (the seeds wrote a cookie the client would have redacted).
        #expect(fleetAttempts.map(\.responseHeaders) == localAttempts.map { Redactor.headers($0.responseHeaders) })
    }

    @Test func everyFilterIsServedByAnIndexOfTheFleetStore() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        #expect(try await ship(seeded, to: url, as: "site-a").status == 0)
        let store = try await FleetStore.connect(to: try FleetLocation(url), environment: TestPostgres.cliEnvironment)
        defer { Task { await store.close() } }
        // Ten rows would be scanned whatever the indexes: forbid the scan, and see which index serves.
        try await store.connection.query("SET enable_seqscan = off", logger: store.logger)
        var queries: [(String, JournalQuery)] = [
            ("entry_on_createdat", JournalQuery()),
            ("entry_on_laststatus_createdat", JournalQuery(statuses: [.code(429)])),
            ("entry_on_state_createdat", JournalQuery(states: [.queued])),
            ("entry_on_createdat", JournalQuery(since: seeded.now.addingTimeInterval(-3600))),
        ]
        var query = JournalQuery()
        query.agents = ["site-a"]
        queries.append(("entry_on_agent_createdat", query))
        query = JournalQuery()
        query.methods = ["PUT"]
        queries.append(("entry_on_method_createdat", query))
        query = JournalQuery()
        query.errorCodes = ["1001"]
        queries.append(("entry_on_lasterrorcode_createdat", query))
        query = JournalQuery()
        query.pathGlob = "/v1/simulations*"
        queries.append(("entry_on_path", query))
        for (index, query) in queries {
            let plan = try await store.queryPlan(for: query).joined(separator: "\n")
            #expect(plan.contains(index), "\(plan)")
            #expect(!plan.contains("Seq Scan on entry"), "\(plan)")
        }
    }

    @Test func aRoleThatMayOnlyWriteTheTablesShipsOnceTheStoreIsMade() async throws {
        let url = try await TestPostgres.freshDatabase()
        #expect(try await ship(try await agentJournal(), to: url, as: "site-a").status == 0)
        let role = "writer_" + UUID().uuidString.lowercased().prefix(8)
        for statement in [
            "CREATE ROLE \(role) LOGIN PASSWORD 'writer-password'", "GRANT USAGE ON SCHEMA picus_journal TO \(role)",
            "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA picus_journal TO \(role)",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA picus_journal TO \(role)",
        ] {
            _ = try await TestPostgres.rows(at: url, statement)
        }
        let seeded = try await agentJournal()
        let asWriter = url.replacingOccurrences(of: "picus@", with: "\(role)@")
        let result = try await runCLI(["ship", "--db", seeded.journal.path, "--to", asWriter, "--agent", "site-b"],
                                      environment: ["PGPASSWORD": "writer-password"], in: seeded.folder)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry") == 20)
    }

    @Test func aSecondShipDuplicatesAndRewritesNothing() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        #expect(try await ship(seeded, to: url, as: "site-a").status == 0)
        let rowVersions = "SELECT string_agg(uuid::text || ':' || xmin::text, ',' ORDER BY uuid) FROM picus_journal.entry"
        let before = try await TestPostgres.rows(at: url, rowVersions)

        let again = try await ship(seeded, to: url, as: "site-a")
        #expect(again.status == 0)
        #expect(again.stdout.contains("Nothing to ship"))
        // Even a ship that lost its place sends everything again and changes no row — and says it
        // wrote nothing, rather than counting what it sent.
        _ = try await TestPostgres.rows(at: url, "UPDATE picus_journal.shipment SET changeSeq = 0")
        let replayed = try await ship(seeded, to: url, as: "site-a")
        #expect(replayed.status == 0, "\(replayed.stderr)")
        #expect(replayed.stdout.contains("Nothing new to ship") && replayed.stdout.contains("had all 10 entries sent"), "\(replayed.stdout)")
        #expect(!replayed.stdout.contains("Shipped"), "\(replayed.stdout)")
        #expect(try await TestPostgres.rows(at: url, rowVersions) == before)
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry") == 10)
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.attempt") == 9)
    }

    @Test func anOutcomeAfterTheShipArrivesWithTheNextShip() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        #expect(try await ship(seeded, to: url, as: "site-a").status == 0)
        let outage = "SELECT state, attemptCount::text FROM picus_journal.entry WHERE localId = \(seeded.ids["outage"]!)"
        #expect(try await TestPostgres.rows(at: url, outage) == [["queued", "1"]])

        // The queued entries are replayed against the sandbox: each gets its second attempt.
        try await withSandbox { sandbox in
            let client = try makeClient(folder: seeded.folder, sandbox: sandbox)
            let summary = try await ReplayEngine(client: client).drain(.init(force: true))
            #expect(summary.replayed >= 1)
        }
        let replayed = try #require(try await seeded.journal.entry(id: seeded.ids["outage"]!))
        #expect(replayed.attemptCount == 2 && replayed.state != .queued)
        let next = try await ship(seeded, to: url, as: "site-a")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try await TestPostgres.rows(at: url, outage) == [[replayed.state.rawValue, "2"]])
        let history = try await TestPostgres.rows(at: url, """
            SELECT string_agg(number::text || '=' || COALESCE(status::text, '-'), ',' ORDER BY number) FROM picus_journal.attempt
            WHERE entryUuid = (SELECT uuid FROM picus_journal.entry WHERE localId = \(seeded.ids["outage"]!))
            """)
        #expect(history.first?.first??.hasPrefix("1=503,2=\(replayed.lastStatus ?? 0)") == true, "\(history)")
        // The fleet's read side shows the new state.
        let shown = try await fleet(["list", "--state", "queued", "--format", "json"], url, in: seeded.folder)
        let local = try await seeded.journal.entries(matching: JournalQuery(states: [.queued]))
        #expect(try objects(shown).count == local.count)
    }

    @Test func aShipKilledMidwayResumesWithOneCopyOfEverything() async throws {
        let url = try await TestPostgres.freshDatabase()
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        let made = try await runBinary(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", Self.scripts + "/make-journal.py", "--entries", "6000", "--db", path, "--cli", Products.cli.path, "--seed", "7",
        ], in: folder)
        #expect(made.status == 0, "\(made.stderr)")

        let watch = try RunningProcess(["ship", "--db", path, "--to", url, "--agent", "killed", "--watch", "--batch-size", "250"],
                                       environment: TestPostgres.cliEnvironment)
        _ = await watch.lines(until: "shipped")
        watch.kill()
        _ = try await watch.exitStatus()
        #expect(watch.wasKilled)
        let partial = try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry")
        #expect(partial >= 250 && partial < 6000)

        let resumed = try await runCLI(["ship", "--db", path, "--to", url, "--agent", "killed"], environment: TestPostgres.cliEnvironment, in: folder)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let journal = try Journal(readingFrom: path)
        let attempts = try await journal.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attempt") ?? 0 }
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry") == 6000)
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(DISTINCT uuid) FROM picus_journal.entry") == 6000)
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.attempt") == attempts)
    }

    @Test func aWatchRidesOutPostgreSQLStoppingAndLosesNothing() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        let watch = try RunningProcess(["ship", "--db", seeded.journal.path, "--to", url, "--agent", "site-a", "--watch"],
                                       environment: TestPostgres.cliEnvironment)
        _ = await watch.lines(until: "shipped 10 entries")

        try await TestPostgres.control("stop -m fast")
        do {
            // Written while the store is down: the journal keeps it.
            for index in 0..<5 {
                _ = try await seeded.journal.insert(NewEntry(method: "GET", path: "/v1/agents/\(index)", headers: [:], state: .queued, createdAt: Date()))
            }
            let waiting = await watch.lines(until: "retrying")
            #expect(waiting.last?.contains("PostgreSQL") == true, "\(waiting)")
        } catch {
            try? await TestPostgres.control("start")
            throw error
        }
        try await TestPostgres.control("start")
        // The totals count from the start of the watch: 10, then the 5 written while the store was down.
        let after = await watch.lines(until: "shipped 15 entries")
        #expect(after.contains { $0.contains("Reached") && $0.contains("again") }, "\(after)")
        #expect(after.last?.contains("shipped 15 entries") == true, "\(after)")
        watch.terminate()
        #expect(try await watch.exitStatus() == 0)
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry") == 15)
    }

    // MARK: Issue 19: promises at the edges

    /// postgres-nio 1.33.2 trips a `preconditionFailure`, killing the process, when a COPY takes a step
    /// between its connection's close and the channel letting go of the handler. Closing the
    /// connection at many moments of many COPYs, from another thread as a deadline or a cancellation
    /// does, must fail each COPY and nothing else: a crash here ends the whole test process.
    @Test func aCOPYWhoseConnectionClosesAtAnyMomentFailsAndNothingElse() async throws {
        let url = try await TestPostgres.freshDatabase()
        var rows = ByteBuffer()
        for index in 0..<20_000 { rows.writeString("\(index)\t\(String(repeating: "x", count: 100))\n") }
        let (proxy, proxied) = try await TCPProxy.toTestPostgres(url)
        // Closed from this side (a deadline, a cancellation) or from the server's, each at its own
        // point of the 2 MB COPY, as the proxy counts the bytes it forwarded.
        let closes: [(fromThisSide: Bool, after: Int)] = (0..<12).map { (true, 1 + $0 * 150_000) } + (1...4).map { (false, $0 * 400_000) }
        var failed = 0
        for close in closes {
            let store = try await connect(proxied)
            let connection = store.connection
            try await connection.query("CREATE TEMP TABLE copied (n bigint, text text)", logger: store.logger)
            let start = await proxy.forwarded()
            if !close.fromThisSide { proxy.breakConnections(.cut, afterClientBytes: close.after) }
            let copying = Task { [rows] in
                try await store.run("copy") { try await $0.copy(rows, into: "copied", columns: ["n", "text"], logger: store.logger) }
            }
            if close.fromThisSide {
                await proxy.until { $0.forwardedFromClients >= start + close.after }
                connection.closeNow()
            }
            if (try? await copying.value) == nil { failed += 1 }
            await store.close()
            proxy.restore()
        }
        // The server never had all of any COPY: each one fails, and the process lives on.
        #expect(failed == closes.count)
        await proxy.stop()
    }

    /// A journal of `count` entries of about a kilobyte each: a batch of a few hundred is a `COPY`
    /// of several hundred kilobytes, which a proxy can break in the middle.
    private func bulkyJournal(_ count: Int, in folder: TemporaryFolder) async throws -> Journal {
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let body = Data(#"{"simulation_name":"\#(String(repeating: "x", count: 1000))"}"#.utf8)
        for index in 0..<count {
            _ = try await journal.insert(NewEntry(
                method: "POST", path: "/v1/simulations/\(index)", headers: ["content-type": "application/json"],
                body: body, state: .queued, createdAt: Date()))
        }
        return journal
    }

    private func connect(_ url: String, connectTimeout: Duration = .seconds(10), operationTimeout: Duration = .seconds(60)) async throws -> FleetStore {
        try await FleetStore.connect(
            to: try FleetLocation(url), configuration: FleetStore.Configuration(connectTimeout: connectTimeout, operationTimeout: operationTimeout),
            environment: TestPostgres.cliEnvironment)
    }

    /// A journal of 1,500 bulky entries and a store reached through a proxy that breaks its
    /// connections in `mode` in the middle of the first batch's COPY.
    private struct BreakingShip {
        let url: String
        let folder: TemporaryFolder
        let journal: Journal
        let proxy: TCPProxy
        let proxied: String
        let store: FleetStore
    }

    private func breakingShip(_ mode: TCPProxy.Mode, operationTimeout: Duration = .seconds(60)) async throws -> BreakingShip {
        let url = try await TestPostgres.freshDatabase()
        let folder = try TemporaryFolder()
        let journal = try await bulkyJournal(1500, in: folder)
        let (proxy, proxied) = try await TCPProxy.toTestPostgres(url)
        let store = try await connect(proxied, operationTimeout: operationTimeout)
        try await store.migrate()
        proxy.breakConnections(mode, afterClientBytes: 200_000)
        return BreakingShip(url: url, folder: folder, journal: journal, proxy: proxy, proxied: proxied, store: store)
    }

    @Test func aShipWhoseConnectionIsCutMidwayEndsWithATransientError() async throws {
        // Both sides closed in the middle of the first batch's COPY.
        let ship = try await breakingShip(.cut)
        defer { withExtendedLifetime(ship) {} }
        let (url, journal, proxy, store) = (ship.url, ship.journal, ship.proxy, ship.store)
        let error = await #expect(throws: FleetError.self) { try await store.ship(journal, as: "cut", batchSize: 500) }
        #expect(error?.isTransient == true, "\(String(describing: error))")
        #expect(error?.description.contains("PostgreSQL at 127.0.0.1:\(proxy.port)") == true, "\(String(describing: error))")
        await store.close()
        await proxy.stop()

        // What was committed stays; the next ship, on a good connection, brings the rest.
        let direct = try await connect(url)
        try await direct.ship(journal, as: "cut", batchSize: 500)
        await direct.close()
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry") == 1500)
    }

    @Test func aShipWhoseConnectionGoesSilentMidwayEndsAtItsDeadline() async throws {
        // The route dies without a word in the middle of the COPY: no FIN, no RST, no answer ever.
        let ship = try await breakingShip(.blackholed, operationTimeout: .seconds(1))
        defer { withExtendedLifetime(ship) {} }
        let (journal, proxy, proxied, store) = (ship.journal, ship.proxy, ship.proxied, ship.store)
        let error = await #expect(throws: FleetError.self) { try await store.ship(journal, as: "silent", batchSize: 500) }
        #expect(error?.isTransient == true, "\(String(describing: error))")
        #expect(error?.description.contains("did not answer within 1 s") == true, "\(String(describing: error))")
        await store.close()

        // A login that never gets an answer ends at the connect deadline.
        let refused = await #expect(throws: FleetError.self) {
            try await connect(proxied, connectTimeout: .seconds(1), operationTimeout: .seconds(1))
        }
        #expect(refused?.isTransient == true, "\(String(describing: refused))")
        await proxy.stop()
    }

    @Test func cancellingAShipThatWaitsOnASilentConnectionEndsIt() async throws {
        // A deadline far away: only the cancellation can end the wait.
        let ship = try await breakingShip(.blackholed, operationTimeout: .seconds(600))
        defer { withExtendedLifetime(ship) {} }
        let (journal, proxy, store) = (ship.journal, ship.proxy, ship.store)

        let shipping = Task { try await store.ship(journal, as: "cancelled", batchSize: 500) }
        await proxy.until { $0.dropped > 0 }
        shipping.cancel()
        let outcome = await shipping.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        await store.close()
        await proxy.stop()
    }

    @Test func aShipThatLosesItsConnectionSaysSoInOneLineAndExits1() async throws {
        let url = try await TestPostgres.freshDatabase()
        let folder = try TemporaryFolder()
        let journal = try await bulkyJournal(1500, in: folder)
        for mode in [TCPProxy.Mode.cut, .blackholed] {
            let (proxy, proxied) = try await TCPProxy.toTestPostgres(url)
            let port = proxy.port
            // The handshake, the migration and the first reads take a few kilobytes: the break lands in a COPY.
            proxy.breakConnections(mode, afterClientBytes: 200_000)
            let result = try await runCLI(
                ["ship", "--db", journal.path, "--to", proxied, "--agent", "lost-\(mode)", "--batch-size", "500", "--timeout", "1"],
                environment: TestPostgres.cliEnvironment, in: folder)
            await proxy.stop()
            #expect(result.status == 1, "\(mode): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(mode): \(result.stderr)")
            #expect(result.stderr.contains("PostgreSQL at 127.0.0.1:\(port)"), "\(mode): \(result.stderr)")
            #expect(!result.stdout.contains("Shipped"), "\(mode): \(result.stdout)")
        }
    }

    @Test func aWatchRetriesAndResumesWhenItsConnectionComesBack() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        let (proxy, proxied) = try await TCPProxy.toTestPostgres(url)
        let watch = try RunningProcess(["ship", "--db", seeded.journal.path, "--to", proxied, "--agent", "site-a", "--watch", "--timeout", "2"],
                                       environment: TestPostgres.cliEnvironment)
        _ = await watch.lines(until: "shipped 10 entries")

        // The route goes silent; what the journal writes meanwhile waits in the journal.
        proxy.blackhole()
        for index in 0..<5 {
            _ = try await seeded.journal.insert(NewEntry(method: "GET", path: "/v1/agents/\(index)", headers: [:], state: .queued, createdAt: Date()))
        }
        let waiting = await watch.lines(until: "retrying")
        #expect(waiting.last?.contains("PostgreSQL at 127.0.0.1:\(proxy.port)") == true, "\(waiting)")

        proxy.restore()
        let after = await watch.lines(until: "shipped 15 entries")
        #expect(after.contains { $0.contains("Reached") && $0.contains("again") }, "\(after)")
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry") == 15)
        watch.terminate()
        #expect(try await watch.exitStatus() == 0)
        await proxy.stop()
    }

    @Test func aWatchStopsOnSIGTERMInTheMiddleOfACOPYOnADeadConnection() async throws {
        let url = try await TestPostgres.freshDatabase()
        let folder = try TemporaryFolder()
        let journal = try await bulkyJournal(1500, in: folder)
        let (proxy, proxied) = try await TCPProxy.toTestPostgres(url)
        proxy.breakConnections(.blackholed, afterClientBytes: 200_000)
        // A deadline far past this test's time limit: only SIGTERM can end the wait.
        let watch = try RunningProcess(["ship", "--db", journal.path, "--to", proxied, "--agent", "stuck", "--watch", "--batch-size", "500",
                                        "--timeout", "600"],
                                       environment: TestPostgres.cliEnvironment)
        let started = await watch.lines(until: "Shipping")
        try #require(started.last?.hasPrefix("Shipping") == true, "\(started)")
        await proxy.until { $0.dropped > 0 }
        watch.terminate()
        #expect(try await watch.exitStatus() == 0, "\(watch.stderr)")
        #expect(!watch.wasKilled, "\(watch.process.terminationStatus) \(watch.stderr)")
        await proxy.stop()
        withExtendedLifetime(folder) {}
    }

    @Test func aJournalRestoredFromAnOlderCopyShipsEverythingItHolds() async throws {
        let url = try await TestPostgres.freshDatabase()
        let store = try await connect(url)
        try await store.migrate()
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        var journal = try Journal(path: path)
        func write(_ count: Int, _ name: String) async throws -> [Entry] {
            var entries: [Entry] = []
            for index in 0..<count {
                entries.append(try await journal.insert(NewEntry(
                    method: "GET", path: "/v1/\(name)/\(index)", headers: [:], state: .queued, createdAt: Date())))
            }
            return entries
        }
        func restore() async throws {
            try journal.close()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try FileManager.default.copyItem(atPath: folder.path("copy.sqlite"), toPath: path)
            journal = try Journal(path: path)
        }
        func fleetUUIDs() async throws -> Set<String> {
            Set(try await TestPostgres.rows(at: url, "SELECT uuid::text FROM picus_journal.entry").compactMap { $0.first ?? nil })
        }

        // Shipped at clock 3, copied, then 9 more entries and a change to the first, shipped: the store is at 13.
        let first = try await write(3, "before-the-copy")
        try await store.ship(journal, as: "restored")
        let copy = try DatabaseQueue(path: folder.path("copy.sqlite"))
        try journal.writer.backup(to: copy)
        try copy.close()
        _ = try await write(9, "lost-with-the-restore")
        try await journal.cancel(entry: first[0].id, now: Date(unixMilliseconds: 1_000_000))
        try await store.ship(journal, as: "restored")
        let storeClock = try await journal.changeClock()
        #expect(storeClock == 13)

        // The disk is restored from the copy: the clock is back at 3, and new writes bring it to the
        // store's point again before the next ship.
        try await restore()
        #expect(try await journal.changeClock() == 3)
        let written = try await write(10, "after-the-restore")
        #expect(try await journal.changeClock() == storeClock)
        let result = try await store.ship(journal, as: "restored")
        #expect(result.entries == 10, "\(result)")
        let local = try await journal.entries(matching: JournalQuery(limit: nil)).map { $0.uuid.uuidString.lowercased() }
        let fleet = try await fleetUUIDs()
        #expect(Set(local).subtracting(fleet).isEmpty, "missing from the fleet: \(Set(local).subtracting(fleet).sorted())")
        #expect(written.allSatisfy { fleet.contains($0.uuid.uuidString.lowercased()) })
        #expect(fleet.count == 3 + 9 + 10)

        // Restored again, and shipped while its clock is still behind the store's point: what it
        // changes afterwards counts as newer in the store than what the lost timeline left there.
        try await restore()
        _ = try await write(2, "after-the-second-restore")
        try await store.ship(journal, as: "restored")
        _ = try await journal.requeue(entry: first[0].id, policy: RetryPolicy(), now: Date(unixMilliseconds: 3_000_000))
        try await store.ship(journal, as: "restored")
        let requeued = try await TestPostgres.rows(at: url, """
            SELECT state || '@' || updatedAt::text FROM picus_journal.entry WHERE uuid = '\(first[0].uuid)'
            """)
        #expect(requeued == [["queued@3000000"]], "\(requeued)")
        #expect(try await fleetUUIDs().count == 3 + 9 + 10 + 2)
        await store.close()
    }

    @Test func aJournalShippedUnderASecondAgentNameIsRefusedNotCountedAsShipped() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        #expect(try await ship(seeded, to: url, as: "site-a").status == 0)

        let second = try await ship(seeded, to: url, as: "site-b")
        #expect(second.status == 1)
        #expect(second.stderr.contains("as agent site-a") && second.stderr.contains("--agent site-a"), "\(second.stderr)")
        #expect(second.stderr.split(separator: "\n").count == 1, "\(second.stderr)")
        #expect(!second.stdout.contains("Shipped"), "\(second.stdout)")
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry WHERE agent = 'site-b'") == 0)

        // Where the store kept no record of the first name, the entries still stay with the agent that
        // shipped them, and the count says that nothing was written.
        _ = try await TestPostgres.rows(at: url, "DELETE FROM picus_journal.shipment")
        let unrecorded = try await ship(seeded, to: url, as: "site-b")
        #expect(unrecorded.status == 0, "\(unrecorded.stderr)")
        #expect(unrecorded.stdout.contains("Nothing new to ship") && unrecorded.stdout.contains("all 10 entries"), "\(unrecorded.stdout)")
        #expect(try await TestPostgres.count(at: url, "SELECT COUNT(*) FROM picus_journal.entry WHERE agent = 'site-a'") == 10)
    }

    @Test func credentialsComeFromTheEnvironmentOrThePasswordFileOnly() async throws {
        let url = try await TestPostgres.freshDatabase()
        let folder = try TemporaryFolder()
        let home = folder.path("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        func list(_ environment: [String: String], _ target: String = url) async throws -> CommandResult {
            try await runCLI(["list", "--db", target], environment: ["HOME": home, "PGPASSWORD": "", "PGPASSFILE": ""].merging(environment) { $1 }, in: folder)
        }
        func expectOneLine(_ result: CommandResult, _ text: String) {
            #expect(result.status == 1)
            #expect(result.stderr.contains(text), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        expectOneLine(try await list([:]), "wants a password for user picus; set PGPASSWORD or add a line to ~/.pgpass")
        expectOneLine(try await list(["PGPASSWORD": "wrong"]), "refused the password for user picus")
        var withPassword = URLComponents(string: url)!
        withPassword.password = "in-the-url"
        expectOneLine(try await list([:], withPassword.string!), "not in the URL")
        #expect(try await list(["PGPASSWORD": "wrong"], withPassword.string!).stderr.contains("in-the-url") == false)

        let server = TestPostgres.serverURL
        let passfile = home + "/.pgpass"
        try "# comment\nother:1:*:*:nope\n\(server.host!):\(server.port!):*:picus:\(TestPostgres.password)\n".write(toFile: passfile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passfile)
        let ignored = try await list(["PGPASSFILE": passfile])
        #expect(ignored.stderr.contains("others may read it"))
        #expect(ignored.status == 1)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passfile)
        let empty = try await list(["PGPASSFILE": passfile])
        expectOneLine(empty, "no fleet store at")

        let refused = try await list(["PGPASSWORD": TestPostgres.password], "postgres://picus@127.0.0.1:1/none")
        expectOneLine(refused, "cannot reach PostgreSQL at 127.0.0.1:1")
        let tls = try await list(["PGPASSWORD": TestPostgres.password], url + "?sslmode=require")
        expectOneLine(tls, "does not offer TLS")
        let mode = try await list(["PGPASSWORD": TestPostgres.password], url + "?sslmode=sometimes")
        #expect(mode.status != 0)
        #expect(mode.stderr.contains("sslmode=sometimes is not one of"))
    }

    @Test func nothingSecretReachesTheFleetStore() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        _ = try await seeded.journal.insert(NewEntry(
            method: "POST", path: "/v1/auth/token", query: "api_key=k3y-v4lue", headers: ["content-type": "application/json"],
            body: Data(#"{"refresh_token":"r3fr3sh-t0k3n","name":"ok"}"#.utf8), state: .pending, createdAt: Date()))
        #expect(try await ship(seeded, to: url, as: "site-a").status == 0)
        let dump = try await TestPostgres.rows(at: url, """
            SELECT string_agg(t::text, E'\\n') FROM picus_journal.entry t
            UNION ALL SELECT string_agg(t::text, E'\\n') FROM picus_journal.attempt t
            UNION ALL SELECT string_agg(convert_from(requestBody, 'UTF8'), E'\\n') FROM picus_journal.entry
            """).compactMap { $0.first ?? nil }.joined(separator: "\n")
        for secret in ["hunter2", "s3cr3t", "k3y-v4lue", "r3fr3sh-t0k3n", "session=abc"] {
            #expect(!dump.contains(secret), "\(secret) reached the fleet store")
        }
        #expect(dump.contains("<redacted>"))
    }

    @Test func aStoreOfANewerSchemaOrNoneIsRefused() async throws {
        let url = try await TestPostgres.freshDatabase()
        let seeded = try await agentJournal()
        let none = try await fleet(["list"], url, in: seeded.folder)
        #expect(none.status == 1)
        #expect(none.stderr.contains("no fleet store at"))
        #expect(try await ship(seeded, to: url, as: "site-a").status == 0)
        _ = try await TestPostgres.rows(at: url, "INSERT INTO picus_journal.schema_migration VALUES ('9999_future', 0)")
        for result in [try await fleet(["stats"], url, in: seeded.folder), try await ship(seeded, to: url, as: "site-a")] {
            #expect(result.status == 1)
            #expect(result.stderr.contains("has schema 9999_future, newer than this picus-journal knows"), "\(result.stderr)")
        }
        let local = try await runCLI(["list", "--agent", "x", "--db", seeded.journal.path], in: seeded.folder)
        #expect(local.status == 1)
        #expect(local.stderr.contains("--agent filters a fleet store"))
        for command in ["replay", "doctor", "prune"] {
            let write = try await runCLI([command, "--db", url.replacingOccurrences(of: "picus@", with: "picus:p@ss w/rd@")],
                                         environment: TestPostgres.cliEnvironment, in: seeded.folder)
            #expect(write.status == 1)
            #expect(write.stderr.contains("names a fleet store"), "\(command): \(write.stderr)")
            #expect(!write.stderr.contains("ss w") && !write.stdout.contains("ss w"), "\(command): \(write.stderr)")
        }
    }

    private static var scripts: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts").path
    }
}

/// The parts of the fleet that need no server.
struct FleetLocationTests {
    @Test func parsesTheURLAndRefusesAPasswordInIt() throws {
        let location = try FleetLocation("postgres://picus@db.example:6543/fleet?sslmode=verify-full", environment: [:])
        #expect(location.user == "picus")
        #expect(location.host == "db.example")
        #expect(location.port == 6543)
        #expect(location.database == "fleet")
        #expect(location.tlsMode == .verifyFull)
        #expect(location.description == "postgres://picus@db.example:6543/fleet")
        let defaults = try FleetLocation("postgresql://db.example", environment: ["PGUSER": "ops"])
        #expect(defaults.user == "ops" && defaults.port == 5432 && defaults.database == "ops" && defaults.tlsMode == .prefer)
        #expect(throws: FleetError.self) { try FleetLocation("postgres://picus:pw@db/fleet", environment: [:]) }
        #expect(throws: FleetError.self) { try FleetLocation("mysql://db/fleet", environment: [:]) }
        #expect(throws: FleetError.self) { try FleetLocation("postgres://db/fleet?schema=x", environment: [:]) }
    }

    @Test func messagesNeverShowAPassword() {
        #expect(FleetLocation.redacting("postgres://picus:s3cret@db:5432/fleet") == "postgres://picus@db:5432/fleet")
        #expect(FleetLocation.redacting("postgres://picus:p@ss w/rd?@db/fleet") == "postgres://picus@db/fleet")
        #expect(FleetLocation.redacting("postgres://db/fleet") == "postgres://db/fleet")
        #expect(throws: FleetError.self) { try FleetLocation("postgres://picus:p@ss w%rd@db/fleet", environment: [:]) }
        do {
            _ = try FleetLocation("postgres://picus:p@ss w%rd@db/fleet", environment: [:])
        } catch {
            #expect(!"\(error)".contains("ss w"))
        }
    }

    @Test func readsThePasswordFileAsLibpqDoes() throws {
        #expect(FleetLocation.passwordFileFields("h:5432:db:u:p\\:w\\\\d") == ["h", "5432", "db", "u", "p:w\\d"])
        #expect(FleetLocation.passwordFileFields("h:5432:db:u:a:b") == ["h", "5432", "db", "u", "a:b"])
    }

    @Test func globsBecomeAnchoredRegularExpressions() {
        #expect(Glob.regularExpression("/v1/simulations*") == "^/v1/simulations.*$")
        #expect(Glob.regularExpression("/v1/agents/?") == "^/v1/agents/.$")
        #expect(Glob.regularExpression("/v1/[0-9]*.json") == "^/v1/[0-9].*\\.json$")
        #expect(Glob.regularExpression("[^s]x") == "^[^s]x$")
        #expect(Glob.regularExpression("a[b") == "^a\\[b$")
    }
}
