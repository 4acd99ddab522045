import Foundation
import GRDB

extension Journal {
    /// The entry with this id, or nil.
    public func entry(id: Int64) async throws -> Entry? {
        try await read { db in
            try Entry.fetchOne(db, sql: "\(Self.entrySelection) WHERE entry.id = ?", arguments: [id])
        }
    }

    /// The attempts of an entry, first to last.
    public func attempts(ofEntry id: Int64) async throws -> [Attempt] {
        try await read { db in
            try Attempt.fetchAll(db, sql: "SELECT * FROM attempt WHERE entryId = ? ORDER BY number", arguments: [id])
        }
    }

    /// The entries that match a query, newest first.
    public func entries(matching query: JournalQuery) async throws -> [Entry] {
        try await page(matching: query).entries
    }

    /// A page of the entries that match a query, newest first, and the cursor of the next page
    /// (nil when this page is the last).
    public func page(matching query: JournalQuery) async throws -> (entries: [Entry], nextCursor: JournalQuery.Cursor?) {
        // One entry past the limit tells whether another page follows: never a cursor to an empty page.
        let fragment = query.lookingOneAhead.sql(selecting: Self.entrySelection, dialect)
        let fetched = try await read { db in
            try Entry.fetchAll(db, sql: fragment.sql, arguments: fragment.statementArguments)
        }
        return query.page(of: fetched)
    }

    /// How SQLite plans a query: one line per step of `EXPLAIN QUERY PLAN`.
    public func queryPlan(for query: JournalQuery) async throws -> [String] {
        let fragment = query.sql(selecting: Self.entrySelection, dialect)
        return try await read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(fragment.sql)", arguments: fragment.statementArguments)
                .map { $0["detail"] as String }
        }
    }

    /// The SQL this journal's queries compile to.
    package var dialect: SQLDialect { .sqlite(fullTextSearch: hasFullTextSearch) }

    /// How many entries the journal holds in each state.
    public func countsByState() async throws -> [EntryState: Int] {
        try await read { db in
            var counts: [EntryState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM entry GROUP BY state") {
                if let state = EntryState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }
}

extension Journal {
    /// The columns every entry read selects: the entry and its last attempt's decoded errors.
    static let entrySelection = SQLDialect.sqlite(fullTextSearch: false).entrySelection
}
