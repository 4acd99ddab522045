import Foundation
import GRDB
@testable import PicusJournal
import Testing
import PicusJournalTesting

struct PruneTests {
    private func insert(_ journal: Journal, count: Int, state: EntryState, ageDays: Double, path: String = "/v1/old") async throws -> [Int64] {
        var ids: [Int64] = []
        let created = Date().addingTimeInterval(-ageDays * 86_400)
        for _ in 0..<count {
            let entry = try await journal.insert(NewEntry(method: "GET", path: path, headers: [:], state: .inFlight, leaseOwner: "t", createdAt: created))
            _ = try await journal.record(
                NewAttempt(number: 1, startedAt: created, durationMs: 1, status: state == .succeeded ? 200 : 422,
                           outcome: state == .succeeded ? .success : .permanent, responseHeaders: [:],
                           error: state == .succeeded ? nil : ErrorBody.decode(Data(#"{"message":"old failure"}"#.utf8))),
                forEntry: entry.id, leaseOwner: "t", then: EntryTransition(state: state))
            ids.append(entry.id)
        }
        // They finished when they were created.
        let list = ids.map(String.init).joined(separator: ",")
        try await journal.writer.write { db in
            try db.execute(sql: "UPDATE entry SET updatedAt = createdAt WHERE id IN (\(list))")
        }
        return ids
    }

    @Test func theRetentionPolicyKeepsEachStateItsTime() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let oldSucceeded = try await insert(journal, count: 3, state: .succeeded, ageDays: 8)
        let recentSucceeded = try await insert(journal, count: 2, state: .succeeded, ageDays: 6)
        let monthFailed = try await insert(journal, count: 2, state: .failed, ageDays: 20)
        let oldFailed = try await insert(journal, count: 2, state: .failed, ageDays: 31)
        let staleQueued = try await journal.insert(NewEntry(method: "GET", path: "/v1/q", headers: [:], state: .pending,
                                                            createdAt: Date().addingTimeInterval(-40 * 86_400)))
        // A 40-day-old queued entry stays until a replay expires it.

        let dryRun = try await journal.prune(dryRun: true)
        let result = try await journal.prune()

        #expect(dryRun.total == 5)
        #expect(result.deleted == [.succeeded: 3, .failed: 2])
        for id in oldSucceeded + oldFailed { #expect(try await journal.entry(id: id) == nil) }
        for id in recentSucceeded + monthFailed { #expect(try await journal.entry(id: id) != nil) }
        #expect(try await journal.entry(id: staleQueued.id)?.state == .pending)
        #expect(try await journal.attempts(ofEntry: oldSucceeded[0]).isEmpty)
        var search = JournalQuery()
        search.text = "old failure"
        #expect(try await journal.entries(matching: search).map(\.id).sorted() == monthFailed.sorted())
    }

    @Test func neverPrunesWaitingEntries() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        await #expect(throws: JournalError.self) {
            try await journal.prune(states: [.queued], olderThan: Date())
        }
    }

    @Test func pruningUnderAConcurrentWriterLosesNothingItWasNotAskedToDelete() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let old = try await insert(journal, count: 1500, state: .succeeded, ageDays: 10)

        async let written = insert(journal, count: 300, state: .succeeded, ageDays: 0, path: "/v1/new")
        async let pruned = journal.prune(states: [.succeeded], olderThan: Date().addingTimeInterval(-86_400), batchSize: 100)
        let (newIDs, count) = try await (written, pruned)

        #expect(count == old.count)
        let remaining = try await journal.entries(matching: JournalQuery(limit: nil)).map(\.id)
        #expect(Set(remaining) == Set(newIDs))
    }
}

struct DoctorTests {
    @Test func aHealthyJournalPasses() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("state/journal.sqlite")
        _ = try Journal(path: path)

        let diagnosis = await Journal.diagnose(path: path)

        #expect(diagnosis.isHealthy, "\(diagnosis.checks.filter { !$0.isHealthy })")
        #expect(diagnosis.checks.map(\.name) == ["integrity", "schema", "entries", "wal", "permissions", "queue", "leases", "holds", "search"])
    }

    @Test func abandonedLeasesOverdueEntriesAndLoosePermissionsAreReported() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("state/journal.sqlite")
        let journal = try Journal(path: path)
        _ = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .inFlight, leaseOwner: "dead",
                                              leaseExpiresAt: Date().addingTimeInterval(-10), createdAt: Date()))
        _ = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .pending,
                                              createdAt: Date().addingTimeInterval(-7200)))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)

        let diagnosis = try await journal.diagnose()

        let bad = Set(diagnosis.checks.filter { !$0.isHealthy }.map(\.name))
        #expect(bad == ["leases", "queue", "permissions"])
        #expect(diagnosis.checks.first { $0.name == "permissions" }?.advice == "chmod 600 \(path)")
    }

    @Test func aDamagedJournalFails() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        do {
            let journal = try Journal(path: path)
            for index in 0..<400 {
                _ = try await journal.insert(NewEntry(method: "POST", path: "/v1/simulations/\(index)", headers: [:],
                                                      body: Data(String(repeating: "x", count: 300).utf8), state: .pending, createdAt: Date()))
            }
            try journal.writer.close()
        }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(size / 2))
        handle.write(Data(repeating: 0x5A, count: 16_384))
        try handle.close()

        let diagnosis = await Journal.diagnose(path: path)

        #expect(!diagnosis.isHealthy)
        let failing = try #require(diagnosis.checks.first { !$0.isHealthy })
        #expect(failing.name == "integrity" || failing.name == "open")
        #expect(failing.advice != nil)
    }
}
