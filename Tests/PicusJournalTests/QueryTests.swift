import Foundation
@testable import PicusJournal
import Testing

/// A journal filled with known entries, for the read side.
struct SeededJournal {
    let folder: TemporaryFolder
    let journal: Journal
    let now = Date()
    var ids: [String: Int64] = [:]

    struct Seed {
        var name: String
        var method = "GET"
        var path = "/v1/agents"
        var query: String?
        var ageHours: Double = 1
        var status: Int?
        var transport: TransportError.Kind?
        var message: String?
        var errorCode: String?
        var state: EntryState
        var body: String?
        var errors: String?
    }

    init(_ seeds: [Seed]) async throws {
        folder = try TemporaryFolder()
        journal = try Journal(path: folder.path("journal.sqlite"))
        for seed in seeds {
            let created = now.addingTimeInterval(-seed.ageHours * 3600)
            let entry = try await journal.insert(NewEntry(
                method: seed.method, path: seed.path, query: seed.query, headers: ["authorization": "Bearer <redacted>"],
                body: seed.body.map { Data($0.utf8) }, state: seed.status == nil && seed.transport == nil ? seed.state : .inFlight,
                leaseOwner: "seed", createdAt: created))
            ids[seed.name] = entry.id
            guard seed.status != nil || seed.transport != nil else { continue }
            let error = seed.message.map { message in
                ErrorBody.decode(Data(#"{"message":"\#(message)"\#(seed.errorCode.map { #","error_code":\#($0)"# } ?? "")\#(seed.errors.map { #","errors":\#($0)"# } ?? "")}"#.utf8))
            }
            let outcome: Attempt.Outcome = seed.state == .succeeded ? .success : seed.state == .queued ? .retryable : .permanent
            _ = try await journal.record(
                NewAttempt(number: 1, startedAt: created, durationMs: 12.5, status: seed.status,
                           transportError: seed.transport.map { TransportError($0, "no route") }, outcome: outcome,
                           responseHeaders: ["content-type": "application/json", "set-cookie": "session=abc"], error: error),
                forEntry: entry.id, leaseOwner: "seed",
                then: EntryTransition(state: seed.state, nextAttemptAt: seed.state == .queued ? created.addingTimeInterval(60) : nil))
        }
    }

    static let standard: [Seed] = [
        Seed(name: "ok", ageHours: 1, status: 200, state: .succeeded),
        Seed(name: "invalid", path: "/v1/simulations", query: "limit=1000", ageHours: 2, status: 422, message: "validation error", state: .failed,
             errors: #"{"limit":"tag=max, param=50, given value=1000"}"#),
        Seed(name: "duplicate", method: "POST", path: "/v1/simulations", ageHours: 3, status: 400, message: "simulation_already_exist",
             errorCode: "1001", state: .failed, body: #"{"simulation_name":"x","password":"hunter2"}"#),
        Seed(name: "missing", path: "/v1/simulations/999", ageHours: 30, status: 404, message: "not found error", state: .failed),
        Seed(name: "outage", method: "POST", path: "/v1/simulations", ageHours: 50, status: 503, message: "service unavailable", state: .queued),
        Seed(name: "gateway", path: "/v1/templates", query: "token=s3cr3t&limit=5", ageHours: 200, status: 504, message: "504 Gateway Time-out", state: .queued),
        Seed(name: "offline", path: "/v1/agents/2", ageHours: 5, transport: .refused, state: .queued),
        Seed(name: "pending", method: "PUT", path: "/v1/simulations/3/cancel", ageHours: 0.5, state: .pending),
    ]

    static func make() async throws -> SeededJournal { try await SeededJournal(standard) }

    func names(_ query: JournalQuery) async throws -> [String] {
        let byID = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
        return try await journal.entries(matching: query).map { byID[$0.id] ?? "?" }
    }
}

struct QueryTests {
    @Test func filtersByStatusCodeAndClass() async throws {
        let seeded = try await SeededJournal.make()
        #expect(try await seeded.names(JournalQuery(statuses: [.code(422)])) == ["invalid"])
        #expect(try await seeded.names(JournalQuery(statuses: [.class(4)])) == ["invalid", "duplicate", "missing"])
        #expect(try await seeded.names(JournalQuery(statuses: [.class(5), .code(200)])) == ["ok", "outage", "gateway"])
    }

    @Test func filtersByState() async throws {
        let seeded = try await SeededJournal.make()
        #expect(try await seeded.names(JournalQuery(states: [.queued])) == ["offline", "outage", "gateway"])
        #expect(try await seeded.names(JournalQuery(states: [.pending, .succeeded])) == ["pending", "ok"])
    }

    @Test func filtersByMethodAndPathGlob() async throws {
        let seeded = try await SeededJournal.make()
        var query = JournalQuery()
        query.methods = ["POST"]
        #expect(try await seeded.names(query) == ["duplicate", "outage"])
        query = JournalQuery()
        query.pathGlob = "/v1/simulations*"
        #expect(try await seeded.names(query) == ["pending", "invalid", "duplicate", "missing", "outage"])
        query.pathGlob = "/v1/simulations"
        #expect(try await seeded.names(query) == ["invalid", "duplicate", "outage"])
    }

    @Test func filtersByErrorCode() async throws {
        let seeded = try await SeededJournal.make()
        var query = JournalQuery()
        query.errorCodes = ["1001"]
        #expect(try await seeded.names(query) == ["duplicate"])
    }

    @Test(arguments: ["validation", "Gateway Time", "already_exist", "valid", "GATEWAY", "ist"])
    func filtersByTextInErrorMessages(text: String) async throws {
        let seeded = try await SeededJournal.make()
        var query = JournalQuery()
        query.text = text
        let expected = ["validation": ["invalid"], "Gateway Time": ["gateway"], "already_exist": ["duplicate"], "valid": ["invalid"],
                        "GATEWAY": ["gateway"], "ist": ["duplicate"]][text]
        #expect(try await seeded.names(query) == expected)
        #expect(seeded.journal.hasFullTextSearch)
    }

    @Test func textWithSearchOperatorsIsTakenLiterally() async throws {
        let seeded = try await SeededJournal.make()
        var query = JournalQuery()
        for text in [#"validation" OR "not"#, "NEAR(", "*", "\""] {
            query.text = text
            #expect(try await seeded.names(query) == [], "\(text) matched as an operator")
        }
    }

    @Test func filtersByTimeRange() async throws {
        let seeded = try await SeededJournal.make()
        let since = try #require(JournalQuery.time("24h", relativeTo: seeded.now))
        #expect(try await seeded.names(JournalQuery(since: since)) == ["pending", "ok", "invalid", "duplicate", "offline"])
        let until = try #require(JournalQuery.time("2d", relativeTo: seeded.now))
        #expect(try await seeded.names(JournalQuery(until: until)) == ["outage", "gateway"])
        #expect(JournalQuery.time("90m", relativeTo: seeded.now) == seeded.now.addingTimeInterval(-5400))
        #expect(JournalQuery.time("2026-11-25T09:00:00Z") == Date(timeIntervalSince1970: 1_795_597_200))
        #expect(JournalQuery.time("2026-11-25") == Date(timeIntervalSince1970: 1_795_564_800))
        #expect(JournalQuery.time("yesterday") == nil)
        #expect(JournalQuery.time("infd") == nil)
    }

    @Test func filtersCombine() async throws {
        let seeded = try await SeededJournal.make()
        var query = JournalQuery(statuses: [.class(4)], states: [.failed], since: seeded.now.addingTimeInterval(-86_400))
        query.pathGlob = "/v1/simulations*"
        query.methods = ["GET"]
        #expect(try await seeded.names(query) == ["invalid"])
    }

    @Test func aCursorPagesThroughEveryEntryOnceEvenAsNewOnesArrive() async throws {
        let seeded = try await SeededJournal.make()
        var seen: [Int64] = []
        var query = JournalQuery(limit: 3)
        var pages = 0
        while true {
            let page = try await seeded.journal.page(matching: query)
            seen += page.entries.map(\.id)
            pages += 1
            // A new entry arrives between pages: it is newer than the cursor, so it never shows up.
            _ = try await seeded.journal.insert(NewEntry(method: "GET", path: "/v1/new", headers: [:], state: .pending, createdAt: Date()))
            guard let next = page.nextCursor else { break }
            query.after = next
            #expect(JournalQuery.Cursor(next.description) == next)
        }
        let order = ["pending", "ok", "invalid", "duplicate", "offline", "missing", "outage", "gateway"]
        #expect(seen == order.compactMap { seeded.ids[$0] })
        #expect(Set(seen) == Set(seeded.ids.values))
        #expect(seen.count == SeededJournal.standard.count)
        #expect(pages == 3)
    }

    @Test func everyFilterIsServedByAnIndex() async throws {
        let seeded = try await SeededJournal.make()
        var queries: [(String, JournalQuery, String)] = [
            ("status", JournalQuery(statuses: [.code(422)]), "entry_on_lastStatus_createdAt"),
            ("status class", JournalQuery(statuses: [.class(5)]), "entry_on_lastStatus_createdAt"),
            ("state", JournalQuery(states: [.queued]), "entry_on_state"),
            ("since", JournalQuery(since: seeded.now.addingTimeInterval(-3600)), "entry_on_createdAt"),
            ("until", JournalQuery(until: seeded.now.addingTimeInterval(-3600)), "entry_on_createdAt"),
        ]
        var method = JournalQuery()
        method.methods = ["POST"]
        queries.append(("method", method, "entry_on_method_createdAt"))
        var path = JournalQuery()
        path.pathGlob = "/v1/simulations*"
        queries.append(("path", path, "entry_on_path_createdAt"))
        var code = JournalQuery()
        code.errorCodes = ["1001"]
        queries.append(("error code", code, "entry_on_lastErrorCode_createdAt"))
        var text = JournalQuery()
        text.text = "validation"
        queries.append(("text", text, "VIRTUAL TABLE"))

        for (name, query, index) in queries {
            let plan = try await seeded.journal.queryPlan(for: query)
            let entrySteps = plan.filter { $0.contains(" entry") }
            #expect(entrySteps.allSatisfy { $0.contains("INDEX") || $0.contains("PRIMARY KEY") }, "\(name): \(plan)")
            #expect(plan.contains { $0.contains(index) }, "\(name) should use \(index): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN entry") && !$0.contains("INDEX") }, "\(name) scans: \(plan)")
        }
    }
}
