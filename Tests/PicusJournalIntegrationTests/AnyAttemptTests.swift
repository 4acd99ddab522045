import Foundation
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// The attempt filters mean one thing: status, `error_code` and message text ask about an entry's
/// last attempt, or — with `anyAttempt` — about one attempt of its history, in the library, the CLI
/// and the exports alike; and a HAR lists attempts in the order they started.
@Suite(.timeLimit(.minutes(1)))
struct AnyAttemptTests {
    /// A journal where one GET got a 429 and then succeeded on replay, one GET succeeded at once,
    /// and one POST was rejected with a 422: the 429's entry was sent first and delivered last.
    private func seed(_ folder: TemporaryFolder, _ sandbox: PicusSandbox) async throws -> (client: JournaledClient, limited: Entry, plain: Entry, rejected: Entry) {
        let client = try makeClient(folder: folder, sandbox: sandbox)
        await sandbox.addFault(SandboxFault(status: 429, count: 1, path: "/v1/agents", retryAfter: "0"))
        let limited = try await client.send(.get("/v1/agents")).entry
        #expect(limited.state == .queued)
        let plain = try await client.send(.get("/v1/agents")).entry
        let rejected = try await client.send(.get("/v1/simulations?limit=1000")).entry
        #expect(rejected.lastStatus == 422)
        let summary = try await ReplayEngine(client: client).drain(.init(force: true))
        #expect(summary.succeeded.count == 1)
        return (client, limited, plain, rejected)
    }

    @Test func anEntryThatGotA429AndThenSucceededIsFoundOnlyByTheAnyAttemptFilter() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let (client, limited, plain, _) = try await seed(folder, sandbox)
            let journal = client.journal

            var query = JournalQuery(statuses: [.code(429)])
            #expect(try await journal.entries(matching: query).isEmpty)
            query.anyAttempt = true
            #expect(try await journal.entries(matching: query).map(\.id) == [limited.id])

            // Every status an entry ever got, each entry counted once under each.
            var all = JournalQuery(limit: nil)
            all.anyAttempt = true
            let byStatus = try await journal.statistics(matching: all, by: .status)
            let counts = Dictionary(uniqueKeysWithValues: byStatus.groups.map { ($0.key, $0.count) })
            #expect(counts["429"] == 1)
            #expect(counts["200"] == 2)
            #expect(counts["422"] == 1)
            let last = try await journal.statistics(matching: JournalQuery(limit: nil), by: .status)
            #expect(last.groups.first { $0.key == "429" } == nil)

            // 2xx and a 429 on one attempt: none had both.
            var both = JournalQuery(statuses: [.code(429)])
            both.anyAttempt = true
            both.errorCodes = ["nope"]
            #expect(try await journal.entries(matching: both).isEmpty)
            _ = plain
        }
    }

    @Test func grepReadsTheLastAttemptUnlessAskedForAny() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let (client, limited, _, rejected) = try await seed(folder, sandbox)
            let journal = client.journal
            let message = try #require(try await journal.attempts(ofEntry: limited.id).first?.error?.message)
            let word = String(message.split(separator: " ").max { $0.count < $1.count } ?? "")
            #expect(word.count >= 3)

            var query = JournalQuery(limit: nil)
            query.text = word
            #expect(try await journal.entries(matching: query).map(\.id).contains(limited.id) == false)
            query.anyAttempt = true
            #expect(try await journal.entries(matching: query).map(\.id).contains(limited.id))

            let rejectedMessage = try #require(try await journal.entry(id: rejected.id)?.lastErrorMessage)
            query = JournalQuery(limit: nil)
            query.text = String(rejectedMessage.prefix(12))
            #expect(try await journal.entries(matching: query).map(\.id) == [rejected.id])
        }
    }

    @Test func theCLIsListStatsAndExportTakeAnyAttempt() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let (client, limited, _, _) = try await seed(folder, sandbox)
            let db = client.journal.path
            let plain = try await runCLI(["list", "--db", db, "--status", "429", "--format", "ndjson"], in: folder)
            #expect(plain.status == 0)
            #expect(plain.stdout.isEmpty)
            let any = try await runCLI(["list", "--db", db, "--status", "429", "--any-attempt", "--format", "ndjson"], in: folder)
            #expect(any.status == 0)
            let ids = any.stdout.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? Int64
            }
            #expect(ids == [limited.id])

            let stats = try await runCLI(["stats", "--db", db, "--by", "status", "--any-attempt", "--format", "json"], in: folder)
            #expect(stats.status == 0)
            #expect(stats.stdout.contains("\"429\""))

            let export = try await runCLI(["export", "--db", db, "--status", "429", "--any-attempt", "--format", "csv"], in: folder)
            #expect(export.status == 0)
            let rows = export.stdout.split(separator: "\r\n").dropFirst()
            #expect(rows.count == 2, "the entry's two attempts")
            #expect(rows.allSatisfy { $0.hasPrefix("\(limited.id),") })
        }
    }

    @Test func aHARListsEveryAttemptInTheOrderItStartedAndNamesItsBrowser() async throws {
        let folder = try TemporaryFolder()
        try await withSandbox(.unlimited) { sandbox in
            let (client, limited, _, _) = try await seed(folder, sandbox)
            let output = LockedValue(Data())
            let result = try await client.journal.export(matching: JournalQuery(limit: nil), as: .har) { chunk in
                output.withLock { $0.append(chunk) }
            }
            #expect(result.entries == 3)
            #expect(result.attempts == 4)
            let har = try #require(try JSONSerialization.jsonObject(with: output.withLock { $0 }) as? [String: Any])
            let log = try #require(har["log"] as? [String: Any])
            #expect((log["browser"] as? [String: Any])?["name"] as? String == "picus-journal")
            #expect((log["creator"] as? [String: Any])?["name"] as? String == "picus-journal")
            #expect(log["pages"] as? [Any] != nil)
            let entries = try #require(log["entries"] as? [[String: Any]])
            let started = entries.compactMap { $0["startedDateTime"] as? String }
            #expect(started.count == 4)
            #expect(started == started.sorted(), "chronological: \(started)")
            // The limited entry's attempts stand apart: its replay came after the others were sent.
            let order = entries.compactMap { $0["_entryId"] as? Int64 }
            #expect(order.first == limited.id)
            #expect(order.last == limited.id)
        }
    }
}
