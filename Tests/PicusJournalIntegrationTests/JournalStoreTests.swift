import Foundation
import GRDB
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

struct JournalStoreTests {
    @Test(arguments: Journal.Configuration.Durability.allCases)
    func concurrentWritesShareCommitsAndAFailingOneFailsAlone(durability: Journal.Configuration.Durability) async throws {
        let folder = try TemporaryFolder()
        var configuration = Journal.Configuration()
        configuration.durability = durability
        let journal = try Journal(path: folder.path("journal.sqlite"), configuration: configuration)
        let taken = UUID()
        _ = try await journal.insert(NewEntry(uuid: taken, method: "GET", path: "/v1/agents", headers: [:], state: .pending, createdAt: Date()))

        // Forty writers at once, one of them with a uuid already in the journal.
        let results = await withTaskGroup(of: Result<Entry, any Error>.self) { group in
            for index in 0..<40 {
                group.addTask {
                    do {
                        return .success(try await journal.insert(NewEntry(
                            uuid: index == 17 ? taken : UUID(), method: "GET", path: "/v1/agents/\(index)",
                            headers: ["x-index": "\(index)"], state: .pending, createdAt: Date())))
                    } catch {
                        return .failure(error)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }

        let written = results.compactMap { try? $0.get() }
        #expect(written.count == 39)
        #expect(results.count { if case .failure = $0 { true } else { false } } == 1)
        let stored = try await journal.entries(matching: JournalQuery(limit: nil))
        #expect(stored.count == 40)
        #expect(Set(written.map { $0.id }).isSubset(of: Set(stored.map { $0.id })), "every writer told of success was committed")
        for entry in written {
            #expect(stored.first { $0.id == entry.id }?.requestHeaders == entry.requestHeaders, "each writer got its own entry back")
        }
    }

    @Test func closingLeavesAPlainFileAndRefusesLaterUse() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        let journal = try Journal(path: path)
        _ = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .pending, createdAt: Date()))
        _ = try await journal.entries(matching: JournalQuery(limit: nil))
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))

        try journal.close()

        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "the WAL was checkpointed and removed")
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
        await #expect(throws: (any Error).self) { try await journal.entries(matching: JournalQuery(limit: nil)) }
        #expect(try await Journal(path: path).entries(matching: JournalQuery(limit: nil)).count == 1)
    }

    @Test(arguments: [(Journal.Configuration.Durability.full, 2), (.normal, 1)])
    func theDurabilityAskedForIsTheOneTheWriterUses(durability: Journal.Configuration.Durability, synchronous: Int) async throws {
        // GRDB's pool sets NORMAL on its writer after the journal's own setup: FULL must survive that.
        let folder = try TemporaryFolder()
        var configuration = Journal.Configuration()
        configuration.durability = durability
        let journal = try Journal(path: folder.path("journal.sqlite"), configuration: configuration)
        #expect(try await journal.writerSynchronous() == synchronous)
    }

    @Test func createsItsFolderAndFilePrivateAndInWALMode() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("state/picus-journal/journal.sqlite")

        let journal = try Journal(path: path)

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let folderAttributes = try FileManager.default.attributesOfItem(atPath: folder.path("state/picus-journal"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((folderAttributes[.posixPermissions] as? Int) == 0o700)
        let mode = try journal.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        #expect(try journal.schemaVersions() == Journal.knownSchemaVersions)
    }

    @Test func theMigrationFilesRunBySQLiteGiveTheSameSchema() throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let migrationsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: migrationsFolder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.map { String($0.dropLast(4)) } == Journal.knownSchemaVersions)
        let plain = try DatabaseQueue(path: folder.path("plain.sqlite"))
        for file in files {
            let sql = try String(contentsOf: migrationsFolder.appendingPathComponent(file), encoding: .utf8)
            try plain.write { db in try db.execute(sql: sql) }
        }

        let schema = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY name"
        let expected = try plain.read { db in try Row.fetchAll(db, sql: schema) }
        let actual = try journal.writer.read { db in try Row.fetchAll(db, sql: schema) }
        #expect(actual == expected)
        #expect(actual.count >= 9)
        let applicationID = try plain.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }
        #expect(applicationID == Journal.applicationID)
    }

    @Test func aJournalOfTheLastSchemaWidensItsTransportErrorCheckInPlace() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        do {
            let older = try DatabaseQueue(path: path)
            try Journal.migrator.migrate(older, upTo: "0010_pacing")
            try older.write { db in
                try db.execute(sql: """
                    INSERT INTO entry (uuid, createdAt, updatedAt, method, path, endpoint, requestHeaders, state, attemptCount)
                    VALUES ('a', 1, 1, 'POST', '/v1/simulations', 'POST /v1/simulations', '{}', 'queued', 1)
                    """)
                try db.execute(sql: "INSERT INTO attempt (entryId, number, startedAt, durationMs, transportError, outcome) VALUES (1, 1, 1, 1, 'refused', 'retryable')")
                #expect(throws: (any Error).self) {
                    try db.execute(sql: "INSERT INTO attempt (entryId, number, startedAt, durationMs, transportError, outcome) VALUES (1, 2, 1, 1, 'notReplayed', 'permanent')")
                }
            }
            try older.close()
        }
        let journal = try Journal(path: path)
        #expect(try journal.schemaVersions() == Journal.knownSchemaVersions)
        try journal.writer.write { db in
            try db.execute(sql: "INSERT INTO attempt (entryId, number, startedAt, durationMs, transportError, outcome) VALUES (1, 2, 1, 1, 'notReplayed', 'permanent')")
            #expect(throws: (any Error).self) {
                try db.execute(sql: "INSERT INTO attempt (entryId, number, startedAt, durationMs, transportError, outcome) VALUES (1, 3, 1, 1, 'bogus', 'permanent')")
            }
            #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
        }
    }

    @Test func refusesAFileThatIsNotSQLiteWithoutTouchingIt() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("notes.txt")
        let content = Data(String(repeating: "these are my notes, not a database\n", count: 50).utf8)
        try content.write(to: URL(fileURLWithPath: path))

        let error = #expect(throws: JournalError.self) { try Journal(path: path) }

        #expect(error?.code == .notSQLite)
        #expect(error?.description.contains("not a SQLite database") == true)
        #expect(FileManager.default.contents(atPath: path) == content)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func refusesAForeignSQLiteDatabaseWithoutTouchingIt() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("app.sqlite")
        let foreign = try DatabaseQueue(path: path)
        try foreign.write { db in
            try db.execute(sql: "CREATE TABLE player (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO player (name) VALUES ('arthur')")
        }
        try foreign.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        let error = #expect(throws: JournalError.self) { try Journal(path: path) }

        #expect(error?.code == .foreignDatabase)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func refusesAJournalWithANewerSchemaWithoutTouchingIt() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        let journal = try Journal(path: path)
        try await journal.writer.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        }
        try journal.writer.close()
        // The -shm file is SQLite's shared-memory index, which every reader updates: the data is the file and its WAL.
        let before = try await journalBytes(at: path, includingSharedMemory: false)

        let error = #expect(throws: JournalError.self) { try Journal(path: path) }

        #expect(error?.code == .schemaTooNew)
        #expect(error?.description.contains("9999_from_the_future") == true)
        #expect(try await journalBytes(at: path, includingSharedMemory: false) == before)
    }

    @Test func reopensAJournalAndFindsItsEntries() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        let id: Int64
        do {
            let journal = try Journal(path: path)
            id = try await journal.insert(NewEntry(
                method: "GET", path: "/v1/agents", headers: [:], state: .pending, createdAt: Date())).id
        }

        let reopened = try Journal(path: path)

        #expect(try await reopened.entry(id: id)?.path == "/v1/agents")
    }

    @Test func acceptsAnEmptyFileAsANewJournal() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("empty.sqlite")
        _ = FileManager.default.createFile(atPath: path, contents: nil)

        let journal = try Journal(path: path)

        #expect(try journal.schemaVersions() == Journal.knownSchemaVersions)
    }

    @Test func refusesAFolderAsTheJournalPath() throws {
        let folder = try TemporaryFolder()
        let error = #expect(throws: JournalError.self) { try Journal(path: folder.url.path) }
        #expect(error?.code == .cannotOpen)
    }

    @Test func reportsADamagedJournalWithoutCrashing() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        do {
            let journal = try Journal(path: path)
            _ = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .pending, createdAt: Date()))
            try journal.writer.close()
        }
        // Keep the 100-byte header, smash the pages behind it; no WAL holds a good copy.
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 100)
        handle.write(Data(repeating: 0xA5, count: 8000))
        try handle.close()

        #expect(throws: JournalError.self) {
            let journal = try Journal(path: path)
            _ = try journal.schemaVersions()
        }
    }

    @Test func recordsAnAttemptAndMovesItsEntryInOneStep() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let entry = try await journal.insert(NewEntry(
            method: "POST", path: "/v1/simulations", query: "x=1", headers: ["content-type": "application/json"],
            body: Data("{}".utf8), state: .inFlight, leaseOwner: "me", leaseExpiresAt: Date().addingTimeInterval(60),
            createdAt: Date()))
        let due = Date().addingTimeInterval(30)

        let updated = try await journal.record(NewAttempt(
            number: 1, startedAt: Date(), durationMs: 12.5, status: 503, outcome: .retryable,
            responseHeaders: ["retry-after": "30"], error: ErrorBody.decode(Data(#"{"message":"service unavailable"}"#.utf8)),
            retryAfterMs: 30_000), forEntry: entry.id, leaseOwner: "me", then: EntryTransition(state: .queued, nextAttemptAt: due))

        #expect(updated.state == .queued)
        #expect(updated.attemptCount == 1)
        #expect(updated.lastStatus == 503)
        #expect(updated.lastErrorMessage == "service unavailable")
        #expect(updated.leaseOwner == nil)
        #expect(updated.nextAttemptAt?.unixMilliseconds == due.unixMilliseconds)
        let attempts = try await journal.attempts(ofEntry: entry.id)
        #expect(attempts.count == 1)
        #expect(attempts[0].retryAfterMs == 30_000)
        #expect(attempts[0].error?.kind == .json)
        #expect(attempts[0].responseHeaders["retry-after"] == "30")
    }

    /// A claim reads its entries by position, on SQLite's C API; what it returns must be the entry
    /// the journal's own read returns, column for column — body bytes, headers, trace context, the
    /// last attempt's decoded error and the lease included.
    @Test func aClaimedEntryIsTheEntryTheJournalReads() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let body = Data([0x7B, 0x00, 0xFF, 0x7D])
        let trace = try #require(TraceContext(traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "vendor=1"))
        let written = try await journal.insert(NewEntry(
            origin: "https://api.example.test", method: "POST", path: "/v1/simulations", query: "dry_run=true",
            headers: ["content-type": "application/json"], body: body, state: .pending, createdAt: Date(), traceContext: trace))
        let empty = try await journal.insert(NewEntry(method: "DELETE", path: "/v1/agents/7", headers: [:], body: Data(),
                                                      state: .pending, createdAt: Date()))
        let first = try #require(try await journal.claim(ClaimFilter(), limit: 2, owner: "first", leaseDuration: .seconds(60), now: Date()).first)
        let error = ErrorBody(message: "try later", errorCode: "UNAVAILABLE", errors: .object(["field": .array([.string("busy")])]), kind: .json)
        _ = try await journal.record(
            NewAttempt(number: 1, startedAt: Date(), durationMs: 3, status: 503, outcome: .retryable, responseHeaders: [:], error: error),
            forEntry: written.id, leaseOwner: first.leaseOwner ?? "", then: EntryTransition(state: .queued, nextAttemptAt: Date(timeIntervalSince1970: 0)),
            base: first)
        _ = try await journal.record(
            NewAttempt(number: 1, startedAt: Date(), durationMs: 3, status: 503, outcome: .retryable, responseHeaders: [:]),
            forEntry: empty.id, leaseOwner: "first.\(empty.id)", then: EntryTransition(state: .queued, nextAttemptAt: Date(timeIntervalSince1970: 0)))

        let claimed = try await journal.claim(ClaimFilter(), limit: 2, owner: "second", leaseDuration: .seconds(60), now: Date())
        #expect(claimed.map(\.id) == [written.id, empty.id])
        for entry in claimed {
            let read = try #require(try await journal.entry(id: entry.id))
            #expect(entry == read)
        }
        #expect(claimed[0].requestBody == body)
        #expect(claimed[0].traceContext == trace)
        #expect(claimed[0].lastErrors == .object(["field": .array([.string("busy")])]))
        #expect(claimed[0].leaseOwner == "second.\(written.id)")
        #expect(claimed[1].requestBody == Data())
    }

    /// `picus-journal ship` copies what changed past a point of the change clock: every write to an
    /// entry — the write-ahead, a claim, an outcome recorded by the lease holder — must move the entry
    /// past the clock's last value, with a value of its own; a sender that lost the lease writes nothing.
    @Test func everyWriteToAnEntryMovesItPastTheChangeClock() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        var clock = try await journal.changeClock()
        func expectChanged(_ ids: [Int64], _ step: String) async throws {
            let changes = try await journal.changes(after: clock, limit: 10)
            let changed = changes.entries.map { $0[JournalChanges.entryColumns[.id]].storage }
            #expect(changed == ids.map { .int64($0) }, "\(step): the entries past the clock")
            let now = try await journal.changeClock()
            #expect(changes.lastChange == now, "\(step): the clock is the last stamp")
            #expect(now >= clock + Int64(ids.count), "\(step): one value per changed entry")
            clock = now
        }
        let first = try await journal.insert(NewEntry(method: "POST", path: "/v1/simulations", headers: [:], body: Data("{}".utf8),
                                                      state: .pending, createdAt: Date()))
        let second = try await journal.insert(NewEntry(method: "POST", path: "/v1/simulations", headers: [:], body: Data("{}".utf8),
                                                       state: .pending, createdAt: Date()))
        try await expectChanged([first.id, second.id], "written")

        let claimed = try await journal.claim(ClaimFilter(), limit: 2, owner: "me", leaseDuration: .seconds(60), now: Date())
        #expect(claimed.map(\.id) == [first.id, second.id])
        try await expectChanged([first.id, second.id], "claimed")

        let held = try await journal.record(
            NewAttempt(number: 1, startedAt: Date(), durationMs: 3, status: 201, outcome: .success, responseHeaders: [:]),
            forEntry: first.id, leaseOwner: claimed[0].leaseOwner ?? "", then: EntryTransition(state: .succeeded), base: claimed[0])
        #expect(held.state == .succeeded)
        #expect(held.leaseOwner == nil)
        try await expectChanged([first.id], "recorded by the holder")

        // A sender that does not hold the lease writes nothing: the entry does not change, nor the clock.
        let stranger = try await journal.record(
            NewAttempt(number: 1, startedAt: Date(), durationMs: 3, status: 503, outcome: .retryable, responseHeaders: [:]),
            forEntry: second.id, leaseOwner: "someone else", then: EntryTransition(state: .queued, nextAttemptAt: Date()), base: claimed[1])
        #expect(stranger.state == .inFlight)
        #expect(stranger.attemptCount == 0)
        #expect(stranger.leaseOwner == claimed[1].leaseOwner)
        #expect(try await journal.changeClock() == clock, "recorded by a stranger: nothing written")
    }
}
