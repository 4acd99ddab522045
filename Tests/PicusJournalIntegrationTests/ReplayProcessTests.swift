import Foundation
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// Replays run by real `picus-journal` processes on one journal: concurrent, killed, watching.
@Suite(.timeLimit(.minutes(2)))
struct ReplayProcessTests {
    private func keys(_ entries: [Entry]) -> Set<String> {
        Set(entries.map { $0.uuid.uuidString.lowercased() })
    }

    private func environment(_ sandbox: PicusSandbox, db: String) -> [String: String] {
        ["PICUS_API_URL": sandbox.url.absoluteString, "PICUS_REFRESH_TOKEN": "sandbox-refresh-token", "PICUS_JOURNAL_DB": db]
    }

    @Test func twoReplayProcessesOnOneJournalDeliverEachOf500EntriesExactlyOnce() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        try await withSandbox(.unlimited) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            var entries: [Entry] = []
            for index in 0..<500 {
                entries.append(try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"bulk-\#(index)"}"#)))
            }

            let first = try RunningProcess(["replay", "--concurrency", "4"], environment: environment(sandbox, db: db))
            let second = try RunningProcess(["replay", "--concurrency", "4"], environment: environment(sandbox, db: db))
            let firstLines = await first.lines(until: "Replayed")
            let secondLines = await second.lines(until: "Replayed")
            #expect(try await first.exitStatus() == 0)
            #expect(try await second.exitStatus() == 0)

            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            #expect(received.count == 500)
            #expect(Set(received.compactMap(\.idempotencyKey)) == keys(entries))
            #expect(received.allSatisfy { $0.status == 201 })
            #expect(try await client.journal.countsByState() == [.succeeded: 500])
            // Every entry was reported by exactly one of the two processes.
            let firstCount = firstLines.filter { $0.hasPrefix("entry ") }.count
            let secondCount = secondLines.filter { $0.hasPrefix("entry ") }.count
            #expect(firstCount + secondCount == 500)
            #expect(firstCount > 0 && secondCount > 0, "both processes took part: \(firstCount) + \(secondCount)")
        }
    }

    /// `count` POSTs waiting in a new journal in `folder`, on a sandbox that honours Idempotency-Keys
    /// and answers `latency` late.
    private func withPendingPosts(
        _ count: Int, latency: Duration, in folder: TemporaryFolder,
        _ body: (PicusSandbox, [Entry]) async throws -> Void
    ) async throws {
        var configuration = PicusSandbox.Configuration.unlimited
        configuration.honoursIdempotencyKeys = true
        try await withSandbox(configuration) { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            var entries: [Entry] = []
            for index in 0..<count {
                entries.append(try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"pending-\#(index)"}"#)))
            }
            await sandbox.setLatency(latency)
            try await body(sandbox, entries)
        }
    }

    @Test func aReplayKilledMidRunLosesNothingAndTheNextRunResendsNoSucceededEntry() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        try await withPendingPosts(120, latency: .milliseconds(15), in: folder) { sandbox, entries in

            let victim = try RunningProcess(["replay", "--concurrency", "2", "--lease", "1"], environment: environment(sandbox, db: db))
            _ = await sandbox.receivedRequests { $0.filter { $0.path == "/v1/simulations" }.count >= 30 }
            victim.kill()
            _ = try await victim.exitStatus()
            #expect(victim.wasKilled)

            let journal = try Journal(path: db)
            let succeededAtKill = try await journal.entries(matching: JournalQuery(states: [.succeeded], limit: nil))
            #expect(!succeededAtKill.isEmpty)
            #expect(succeededAtKill.count < entries.count)

            let finisher = try RunningProcess(["replay", "--watch"], environment: environment(sandbox, db: db))
            let allKeys = keys(entries)
            // Read what the finisher reports until every entry unfinished at the kill has succeeded.
            var unfinished = Set(entries.map(\.id)).subtracting(succeededAtKill.map(\.id))
            while !unfinished.isEmpty, let line = await finisher.nextLine() {
                guard line.hasPrefix("entry "), line.hasSuffix("; succeeded"),
                    let id = Int64(line.dropFirst(6).prefix { $0.isNumber })
                else { continue }
                unfinished.remove(id)
            }
            #expect(unfinished.isEmpty)
            finisher.terminate()
            #expect(try await finisher.exitStatus() == 0)

            #expect(try await journal.countsByState() == [.succeeded: entries.count])
            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            for key in keys(succeededAtKill) {
                #expect(received.filter { $0.idempotencyKey == key }.count == 1, "a succeeded entry was sent again")
            }
            // At-least-once: only what was in flight when the process died may have gone twice.
            let twice = allKeys.filter { key in received.filter { $0.idempotencyKey == key }.count > 1 }
            #expect(twice.count <= 2)
        }
    }

    @Test func aKilledReplayersEntriesAreTakenBackAtOnceByTheNextReplay() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        try await withPendingPosts(60, latency: .milliseconds(20), in: folder) { sandbox, entries in

            // The default lease (30 s) outlives this test's time limit: only the liveness test can free the entries.
            let victim = try RunningProcess(["replay", "--concurrency", "2"], environment: environment(sandbox, db: db))
            _ = await sandbox.receivedRequests { $0.filter { $0.path == "/v1/simulations" }.count >= 10 }
            victim.kill()
            _ = try await victim.exitStatus()
            let journal = try Journal(path: db)
            let succeededAtKill = try await journal.entries(matching: JournalQuery(states: [.succeeded], limit: nil))
            let inFlightAtKill = try await journal.entries(matching: JournalQuery(states: [.inFlight], limit: nil))

            let next = try await runCLI(["replay"], environment: environment(sandbox, db: db), in: folder)

            #expect(victim.wasKilled)
            #expect(next.status == 0, "\(next.stderr)")
            if !inFlightAtKill.isEmpty {
                #expect(next.stdout.contains("Took back \(inFlightAtKill.count)"))
            }
            #expect(try await journal.countsByState() == [.succeeded: entries.count])
            let received = await sandbox.receivedRequests().filter { $0.path == "/v1/simulations" }
            for key in keys(succeededAtKill) {
                #expect(received.filter { $0.idempotencyKey == key }.count == 1, "a succeeded entry was sent again")
            }
        }
    }

    @Test func replayWatchDeliversAnEntryWrittenByAnotherProcess() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        try await withSandbox { sandbox in
            _ = try Journal(path: db)
            let watcher = try RunningProcess(["replay", "--watch"], environment: environment(sandbox, db: db))
            #expect(await watcher.nextLine()?.hasPrefix("Replaying") == true)
            await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations", retryAfter: "0"))

            let writer = try await runCLI(["request", "POST", "/v1/simulations", "--data", #"{"simulation_name":"watched"}"#],
                                          environment: environment(sandbox, db: db), in: folder)
            #expect(writer.status == 1)
            #expect(writer.stderr.contains("queued for replay"))

            let lines = await watcher.lines(until: "succeeded")
            #expect(lines.last?.contains("entry 1 (POST /v1/simulations)") == true)
            watcher.terminate()
            #expect(try await watcher.exitStatus() == 0)
            #expect(try await Journal(path: db).entry(id: 1)?.state == .succeeded)
        }
    }

    @Test func replayDryRunSendsNothingAndAPermanentFailureExitsOne() async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")
        try await withSandbox { sandbox in
            let client = try makeClient(folder: folder, sandbox: sandbox)
            let good = try await client.enqueue(.get("/v1/agents"))
            let bad = try await client.enqueue(.get("/v1/simulations?limit=1000"))

            let dryRun = try await runCLI(["replay", "--dry-run"], environment: environment(sandbox, db: db), in: folder)
            #expect(dryRun.status == 0)
            #expect(dryRun.stdout.contains("entry \(good.id): GET /v1/agents"))
            #expect(dryRun.stdout.contains("entry \(bad.id): GET /v1/simulations?limit=1000"))
            #expect(await sandbox.receivedRequests().filter { $0.path != "/v1/auth/token" }.isEmpty)

            let replay = try await runCLI(["replay"], environment: environment(sandbox, db: db), in: folder)
            #expect(replay.status == 1)
            #expect(replay.stdout.contains("Replayed 2: 1 succeeded, 0 re-queued, 1 failed, 0 expired."))

            let cancel = try await runCLI(["cancel", String(good.id)], environment: environment(sandbox, db: db), in: folder)
            #expect(cancel.status == 1)
            #expect(cancel.stderr.contains("succeeded"))
            let requeue = try await runCLI(["requeue", String(good.id)], environment: environment(sandbox, db: db), in: folder)
            #expect(requeue.status == 1)
            #expect(requeue.stderr.contains("would send it twice"))
        }
    }
}
