import Foundation
import GRDB

/// An entry about to be written.
package struct NewEntry: Sendable {
    package var uuid = UUID()
    package var origin: String?
    package var method: String
    package var path: String
    package var query: String?
    package var headers: [String: String]
    package var body: Data?
    package var state: EntryState
    package var leaseOwner: String?
    package var leaseExpiresAt: Date?
    package var createdAt: Date

    package init(
        uuid: UUID = UUID(), origin: String? = nil, method: String, path: String, query: String? = nil, headers: [String: String],
        body: Data? = nil, state: EntryState, leaseOwner: String? = nil, leaseExpiresAt: Date? = nil, createdAt: Date
    ) {
        self.uuid = uuid
        self.origin = origin
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.state = state
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.createdAt = createdAt
    }
}

/// An attempt about to be recorded.
package struct NewAttempt: Sendable {
    package var number: Int
    package var startedAt: Date
    package var durationMs: Double
    package var status: Int?
    package var transportError: TransportError?
    package var outcome: Attempt.Outcome
    package var responseHeaders: [String: String]
    package var error: ErrorBody?
    package var retryAfterMs: Int64?
    package var rateLimitLimit: Int?
    package var rateLimitRemaining: Int?
    package var rateLimitReset: Int64?
    /// The earliest retry the server allowed; a 429 holds back the whole endpoint until then.
    package var serverNotBefore: Date?

    package init(
        number: Int, startedAt: Date, durationMs: Double, status: Int? = nil, transportError: TransportError? = nil,
        outcome: Attempt.Outcome, responseHeaders: [String: String], error: ErrorBody? = nil, retryAfterMs: Int64? = nil,
        rateLimitLimit: Int? = nil, rateLimitRemaining: Int? = nil, rateLimitReset: Int64? = nil,
        serverNotBefore: Date? = nil
    ) {
        self.number = number
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.status = status
        self.transportError = transportError
        self.outcome = outcome
        self.responseHeaders = responseHeaders
        self.error = error
        self.retryAfterMs = retryAfterMs
        self.rateLimitLimit = rateLimitLimit
        self.rateLimitRemaining = rateLimitRemaining
        self.rateLimitReset = rateLimitReset
        self.serverNotBefore = serverNotBefore
    }
}

/// Where an entry goes once an attempt is recorded.
package struct EntryTransition: Sendable {
    package var state: EntryState
    package var nextAttemptAt: Date?

    package init(state: EntryState, nextAttemptAt: Date? = nil) {
        self.state = state
        self.nextAttemptAt = nextAttemptAt
    }
}

extension Journal {
    /// The columns every entry read selects: the entry and its last attempt's decoded errors.
    static let entrySelection = """
        SELECT entry.*, attempt.errors AS lastErrors
        FROM entry LEFT JOIN attempt ON attempt.entryId = entry.id AND attempt.number = entry.attemptCount
        """

    /// Writes an entry and commits it. Called before the request leaves the process.
    package func insert(_ new: NewEntry) async throws -> Entry {
        try await write("write to") { db in
            let createdAt = new.createdAt.unixMilliseconds
            let endpoint = EndpointKey.make(method: new.method, path: new.path)
            let row = try Row.fetchOne(try db.cachedStatement(sql: """
                INSERT INTO entry (uuid, createdAt, updatedAt, origin, method, path, endpoint, query, requestHeaders, requestBody,
                                   state, nextAttemptAt, leaseOwner, leaseExpiresAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING *
                """), arguments: [
                    new.uuid.uuidString.lowercased(), createdAt, createdAt, new.origin, new.method, new.path, endpoint, new.query,
                    JSONColumn.encode(new.headers), new.body, new.state.rawValue,
                    new.state == .pending ? createdAt : nil, new.leaseOwner, new.leaseExpiresAt?.unixMilliseconds,
                ])
            guard let row else { throw JournalError(.database, "the journal did not return the new entry") }
            return try Entry(row: row)
        }
    }

    /// Records an attempt and moves its entry, in one transaction.
    ///
    /// The entry moves only while `leaseOwner` still holds its lease: a sender whose lease was
    /// reclaimed records what it saw, but the entry's state is the new holder's to decide. A `nil`
    /// transition keeps the entry in flight (a 401 about to be retried inline).
    package func record(
        _ attempt: NewAttempt, forEntry entryID: Int64, leaseOwner: String, then transition: EntryTransition?
    ) async throws -> Entry {
        try await write("write to") { db in
            let error = attempt.error
            let errorMessage = error?.message ?? attempt.transportError?.message
            let keepsBody = attempt.outcome != .success
            let now = Date().unixMilliseconds
            let highest = try Int.fetchOne(try db.cachedStatement(sql: "SELECT MAX(number) FROM attempt WHERE entryId = ?"), arguments: [entryID]) ?? 0
            let number = max(attempt.number, highest + 1)
            try db.cachedStatement(sql: """
                INSERT INTO attempt (entryId, number, startedAt, durationMs, status, transportError, outcome,
                    responseHeaders, errorMessage, errorCode, errors, bodyKind, body, bodySize, retryAfterMs,
                    rateLimitLimit, rateLimitRemaining, rateLimitReset)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    entryID, number, attempt.startedAt.unixMilliseconds, attempt.durationMs, attempt.status,
                    attempt.transportError?.kind.rawValue, attempt.outcome.rawValue,
                    attempt.status == nil ? nil : JSONColumn.encode(attempt.responseHeaders),
                    errorMessage, error?.errorCode, error?.errors?.jsonText,
                    keepsBody ? error?.kind.rawValue : nil, keepsBody ? error?.raw : nil,
                    keepsBody ? error?.size : nil, attempt.retryAfterMs,
                    attempt.rateLimitLimit, attempt.rateLimitRemaining, attempt.rateLimitReset,
                ])
            let isSuccess = attempt.outcome == .success
            // The count is history: it moves whoever holds the lease. The rest is the holder's to decide,
            // except a success, which is the truth about an entry nobody is sending now.
            let holds = isSuccess
                ? "(leaseOwner IS :lease OR state IN ('queued', 'pending', 'failed', 'expired'))"
                : "leaseOwner IS :lease"
            try db.cachedStatement(sql: "UPDATE entry SET attemptCount = MAX(attemptCount, :number), updatedAt = :now WHERE id = :id").execute(arguments: ["number": number, "now": now, "id": entryID])
            try db.cachedStatement(sql: """
                UPDATE entry SET lastStatus = :status, lastTransportError = :transport, lastErrorMessage = :message,
                    lastErrorCode = :code
                WHERE id = :id AND \(holds)
                """).execute(arguments: [
                    "status": attempt.status, "transport": attempt.transportError?.kind.rawValue,
                    "message": isSuccess ? nil : errorMessage, "code": isSuccess ? nil : error?.errorCode,
                    "id": entryID, "lease": leaseOwner,
                ])
            if let transition {
                let keepsLease = transition.state == .inFlight
                try db.cachedStatement(sql: """
                    UPDATE entry SET state = ?, nextAttemptAt = ?, notBefore = ?,
                        leaseOwner = CASE WHEN ? THEN leaseOwner END,
                        leaseExpiresAt = CASE WHEN ? THEN leaseExpiresAt END
                    WHERE id = ? AND \(holds.replacingOccurrences(of: ":lease", with: "?"))
                    """).execute(arguments: [
                        transition.state.rawValue, transition.nextAttemptAt?.unixMilliseconds,
                        transition.state == .queued ? attempt.serverNotBefore?.unixMilliseconds : nil,
                        keepsLease, keepsLease, entryID, leaseOwner,
                    ])
            }
            if attempt.status == 429, let until = attempt.serverNotBefore {
                try db.cachedStatement(sql: """
                    INSERT INTO hold (key, until, reason, setAt)
                    SELECT endpoint, ?, 'rate limited (429)', ? FROM entry WHERE id = ?
                    ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until), reason = excluded.reason, setAt = excluded.setAt
                    """).execute(arguments: [until.unixMilliseconds, now, entryID])
            }
            guard let entry = try Entry.fetchOne(try db.cachedStatement(sql: "\(Self.entrySelection) WHERE entry.id = ?"), arguments: [entryID]) else {
                throw JournalError(.notFound, "entry \(entryID) vanished while its attempt was recorded", entryID: entryID)
            }
            return entry
        }
    }

    /// Extends a lease its owner still holds; false when another sender has taken the entry.
    package func renewLease(of entryID: Int64, owner: String, until: Date) async throws -> Bool {
        try await write("write to") { db in
            try db.cachedStatement(sql: "UPDATE entry SET leaseExpiresAt = ? WHERE id = ? AND state = 'inFlight' AND leaseOwner = ?").execute(arguments: [until.unixMilliseconds, entryID, owner])
            return db.changesCount > 0
        }
    }
}
