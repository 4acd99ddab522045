import Foundation
import PicusJournal
import PostgresNIO

/// The read side on the fleet: the same queries as a journal's, compiled for PostgreSQL.
extension FleetStore {
    var dialect: SQLDialect { .postgres(schema: Self.schema) }

    /// A page of the entries that match a query, newest first, across the agents it names (all when none).
    public func page(matching query: JournalQuery) async throws -> (entries: [Entry], nextCursor: JournalQuery.Cursor?) {
        // One entry past the limit tells whether another page follows: never a cursor to an empty page.
        let fragment = query.lookingOneAhead.sql(selecting: dialect.entrySelection, dialect)
        var fetched: [Entry] = []
        try await forEachRow(SQLFragment(dialect.placeholders(fragment.sql), fragment.values), "list entries") {
            fetched.append(try Self.entry($0))
        }
        return query.page(of: fetched)
    }

    /// How PostgreSQL plans a query: one line per line of `EXPLAIN`.
    public func queryPlan(for query: JournalQuery) async throws -> [String] {
        let fragment = query.sql(selecting: dialect.entrySelection, dialect)
        var lines: [String] = []
        try await forEachRow(SQLFragment("EXPLAIN " + dialect.placeholders(fragment.sql), fragment.values), "explain a query") {
            lines.append(try $0[0].decode(String.self))
        }
        return lines
    }

    /// The entry with this fleet id, or nil.
    public func entry(id: Int64) async throws -> Entry? {
        var found: Entry?
        try await forEachRow(SQLFragment(dialect.placeholders("\(dialect.entrySelection) WHERE entry.id = ?"), [.integer(id)]), "read an entry") {
            found = try Self.entry($0)
        }
        return found
    }

    /// The attempts of the entry with this fleet id, first to last.
    public func attempts(ofEntry id: Int64) async throws -> [Attempt] {
        let columns = SQLDialect.fleetAttemptColumns.sql("attempt")
        var attempts: [Attempt] = []
        try await forEachRow(SQLFragment(dialect.placeholders("""
            SELECT \(columns) FROM \(dialect.attemptTable) AS attempt JOIN \(dialect.entryTable) AS entry ON \(dialect.attemptOfEntry)
            WHERE entry.id = ? ORDER BY attempt.number
            """), [.integer(id)]), "read attempts") {
            attempts.append(try Self.attempt($0, offset: 0, entryID: id))
        }
        return attempts
    }

    /// Counts the entries that match a query, grouped if asked (`.agent` groups by agent).
    public func statistics(matching query: JournalQuery, by grouping: Statistics.Grouping? = nil, topErrorCount: Int = 5) async throws -> Statistics {
        let plan = StatisticsPlan(query: query, grouping: grouping, topErrorCount: topErrorCount, dialect: dialect)
        var byState: [(state: String, count: Int)] = []
        try await forEachRow(plan.byState, "count entries") { row in
            byState.append((try row[0].decode(String.self), Int(try row[1].decode(Int64.self))))
        }
        var topErrors: [Statistics.Message] = []
        try await forEachRow(plan.topErrors, "count errors") { row in
            topErrors.append(Statistics.Message(message: try row[0].decode(String.self), count: Int(try row[1].decode(Int64.self))))
        }
        var oldest: Entry?
        try await forEachRow(plan.oldest, "find the oldest waiting entry") { oldest = try Self.entry($0) }
        var groups: [StatisticsPlan.GroupRow] = []
        if let sql = plan.groups {
            try await forEachRow(sql, "group entries") { row in
                groups.append(StatisticsPlan.GroupRow(
                    key: try row[0].decode(String.self), count: Int(try row[1].decode(Int64.self)),
                    failed: Int(try row[2].decode(Int64.self)), finished: Int(try row[3].decode(Int64.self))))
            }
        }
        return plan.statistics(byState: byState, topErrors: topErrors, oldest: oldest, groups: groups)
    }

    /// Writes the entries that match a query in a format, streamed: rows arrive as PostgreSQL sends
    /// them and leave in 64 KiB chunks. CSV gains an `agent` column, JSON an `agent` key, HAR `_agent`.
    public func export(
        matching query: JournalQuery, as format: ExportFormat, options: ExportOptions = ExportOptions(),
        to write: @escaping @Sendable (Data) throws -> Void
    ) async throws -> ExportResult {
        let clause = query.whereClause(dialect)
        var values = clause.values
        var limitClause = ""
        if let limit = query.limit {
            limitClause = " LIMIT ?"
            values.append(.integer(Int64(limit)))
        }
        let entryColumns = "\(SQLDialect.fleetEntryColumns.sql("entry")), entry.agent"
        let attemptColumns = SQLDialect.fleetAttemptColumns.sql("attempt")
        let sql = """
            SELECT \(entryColumns), NULL AS lastErrors, \(attemptColumns) FROM
                (SELECT * FROM \(dialect.entryTable) AS entry WHERE \(clause.sql)
                 ORDER BY entry.createdAt DESC, entry.id DESC\(limitClause)) AS entry
            LEFT JOIN \(dialect.attemptTable) AS attempt ON \(dialect.attemptOfEntry)
            ORDER BY \(ExportWriter.rowOrder(format))
            """
        var writer = ExportWriter(format: format, options: options, withAgent: true, write: write)
        try writer.begin()
        var current: Entry?
        var attempts: [Attempt] = []
        let attemptOffset = SQLDialect.fleetAgentColumn + 2
        try await forEachRow(SQLFragment(dialect.placeholders(sql), values), "export entries") { row in
            let id = try row[SQLDialect.fleetEntryColumns[.id]].decode(Int64.self)
            if current?.id != id {
                if let current { try writer.add(current, attempts) }
                current = try Self.entry(row)
                attempts.removeAll(keepingCapacity: true)
            }
            if row[attemptOffset].bytes != nil {
                attempts.append(try Self.attempt(row, offset: attemptOffset, entryID: id))
            }
        }
        if let current { try writer.add(current, attempts) }
        return try writer.end()
    }

    // MARK: Rows

    /// An entry from a row selected as ``SQLDialect/entrySelection`` selects it.
    static func entry(_ row: PostgresRandomAccessRow) throws -> Entry {
        let columns = SQLDialect.fleetEntryColumns
        func value(_ column: EntryColumn) -> PostgresCell { row[columns[column]] }
        func int(_ column: EntryColumn) throws -> Int64? { try value(column).decode(Int64?.self) }
        func text(_ column: EntryColumn) throws -> String? { try value(column).decode(String?.self) }
        func date(_ column: EntryColumn) throws -> Date? { try int(column).map(Date.init(unixMilliseconds:)) }
        let createdAt = Date(unixMilliseconds: try value(.createdAt).decode(Int64.self))
        var entry = Entry(
            id: try value(.id).decode(Int64.self), uuid: try value(.uuid).decode(UUID.self),
            createdAt: createdAt, updatedAt: try date(.updatedAt) ?? createdAt, method: try value(.method).decode(String.self),
            path: try value(.path).decode(String.self), endpoint: try value(.endpoint).decode(String.self),
            state: EntryState(rawValue: try value(.state).decode(String.self)) ?? .failed)
        entry.agent = try row[SQLDialect.fleetAgentColumn].decode(String?.self)
        entry.origin = try text(.origin)
        entry.query = try text(.query)
        entry.requestHeaders = JSONColumn.decodeHeaders(try text(.requestHeaders))
        entry.requestBody = try value(.requestBody).decode(Data?.self)
        entry.attemptCount = Int(try value(.attemptCount).decode(Int32.self))
        entry.lastStatus = try value(.lastStatus).decode(Int32?.self).map(Int.init)
        entry.lastTransportError = try text(.lastTransportError).flatMap(TransportError.Kind.init(rawValue:))
        entry.lastErrorMessage = try text(.lastErrorMessage)
        entry.lastErrorCode = try text(.lastErrorCode)
        entry.nextAttemptAt = try date(.nextAttemptAt)
        entry.notBefore = try date(.notBefore)
        entry.leaseOwner = try text(.leaseOwner)
        entry.leaseExpiresAt = try date(.leaseExpiresAt)
        entry.isReplayable = try value(.isReplayable).decode(Bool.self)
        entry.traceContext = try text(.traceContext).flatMap { TraceContext(fields: JSONColumn.decodeHeaders($0)) }
        entry.lastErrors = try row[SQLDialect.fleetAgentColumn + 1].decode(String?.self).flatMap { JSONValue(parsing: Data($0.utf8)) }
        return entry
    }

    /// An attempt from a row holding ``SQLDialect/fleetAttemptColumns`` from `offset` on.
    static func attempt(_ row: PostgresRandomAccessRow, offset: Int, entryID: Int64) throws -> Attempt {
        let columns = SQLDialect.fleetAttemptColumns
        func value(_ column: AttemptColumn) -> PostgresCell { row[offset + columns[column]] }
        func int(_ column: AttemptColumn) throws -> Int64? { try value(column).decode(Int64?.self) }
        func int32(_ column: AttemptColumn) throws -> Int? { try value(column).decode(Int32?.self).map(Int.init) }
        func text(_ column: AttemptColumn) throws -> String? { try value(column).decode(String?.self) }
        let number = Int(try value(.number).decode(Int32.self))
        var attempt = Attempt(
            id: Int64(number), entryID: entryID, number: number,
            startedAt: Date(unixMilliseconds: try value(.startedAt).decode(Int64.self)),
            durationMs: try value(.durationMs).decode(Double.self),
            outcome: Attempt.Outcome(rawValue: try value(.outcome).decode(String.self)) ?? .permanent)
        attempt.status = try int32(.status)
        attempt.transportError = try text(.transportError).flatMap(TransportError.Kind.init(rawValue:))
        attempt.responseHeaders = JSONColumn.decodeHeaders(try text(.responseHeaders))
        attempt.error = ErrorBody.stored(
            message: try text(.errorMessage), errorCode: try text(.errorCode), errors: try text(.errors), kind: try text(.bodyKind),
            raw: try value(.body).decode(Data?.self), size: try int(.bodySize).map(Int.init))
        attempt.retryAfterMs = try int(.retryAfterMs)
        attempt.rateLimitLimit = try int(.rateLimitLimit).map(Int.init)
        attempt.rateLimitRemaining = try int(.rateLimitRemaining).map(Int.init)
        attempt.rateLimitReset = try int(.rateLimitReset)
        return attempt
    }
}
