import Foundation
@testable import PicusJournal
import Testing
import PicusJournalFixtures
import PicusJournalTesting

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
