import Foundation
import GRDB

/// An entry about to be written.
package struct NewEntry: Sendable {
    package var uuid = UUID()
    package var method: String
    package var path: String
    package var query: String?
    package var headers: [String: String]
    package var body: Data?
    package var state: EntryState
    package var leaseOwner: String?
    package var leaseExpiresAt: Date?
    package var createdAt: Date
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
}

/// Where an entry goes once an attempt is recorded.
package struct EntryTransition: Sendable {
    package var state: EntryState
    package var nextAttemptAt: Date?
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
            let id = try Int64.fetchOne(db, sql: """
                INSERT INTO entry (uuid, createdAt, updatedAt, method, path, query, requestHeaders, requestBody,
                                   state, leaseOwner, leaseExpiresAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING id
                """, arguments: [
                    new.uuid.uuidString.lowercased(), createdAt, createdAt, new.method, new.path, new.query,
                    JSONColumn.encode(new.headers), new.body, new.state.rawValue, new.leaseOwner,
                    new.leaseExpiresAt?.unixMilliseconds,
                ])
            guard let id else { throw JournalError(.database, "the journal did not return the new entry's id") }
            return Entry(
                id: id, uuid: new.uuid, createdAt: Date(unixMilliseconds: createdAt),
                updatedAt: Date(unixMilliseconds: createdAt), method: new.method, path: new.path, query: new.query,
                requestHeaders: new.headers, requestBody: new.body, state: new.state, attemptCount: 0,
                leaseOwner: new.leaseOwner, leaseExpiresAt: new.leaseExpiresAt)
        }
    }

    /// Records an attempt and moves its entry, in one transaction.
    ///
    /// A `nil` transition leaves the entry's state and lease as they are (a 401 about to be retried inline).
    package func record(_ attempt: NewAttempt, forEntry entryID: Int64, then transition: EntryTransition?) async throws -> Entry {
        try await write("write to") { db in
            let error = attempt.error
            let errorMessage = error?.message ?? attempt.transportError?.message
            let keepsBody = attempt.outcome != .success
            try db.execute(sql: """
                INSERT INTO attempt (entryId, number, startedAt, durationMs, status, transportError, outcome,
                    responseHeaders, errorMessage, errorCode, errors, bodyKind, body, bodySize, retryAfterMs,
                    rateLimitLimit, rateLimitRemaining, rateLimitReset)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    entryID, attempt.number, attempt.startedAt.unixMilliseconds, attempt.durationMs, attempt.status,
                    attempt.transportError?.kind.rawValue, attempt.outcome.rawValue,
                    attempt.status == nil ? nil : JSONColumn.encode(attempt.responseHeaders),
                    errorMessage, error?.errorCode, error?.errors?.jsonText,
                    keepsBody ? error?.kind.rawValue : nil, keepsBody ? error?.raw : nil,
                    keepsBody ? error?.size : nil, attempt.retryAfterMs,
                    attempt.rateLimitLimit, attempt.rateLimitRemaining, attempt.rateLimitReset,
                ])
            let now = Date().unixMilliseconds
            let isSuccess = attempt.outcome == .success
            if let transition {
                let keepsLease = transition.state == .inFlight
                try db.execute(sql: """
                    UPDATE entry SET state = ?, nextAttemptAt = ?, attemptCount = MAX(attemptCount, ?), updatedAt = ?,
                        lastStatus = ?, lastTransportError = ?, lastErrorMessage = ?, lastErrorCode = ?,
                        leaseOwner = CASE WHEN ? THEN leaseOwner END,
                        leaseExpiresAt = CASE WHEN ? THEN leaseExpiresAt END
                    WHERE id = ?
                    """, arguments: [
                        transition.state.rawValue, transition.nextAttemptAt?.unixMilliseconds, attempt.number, now,
                        attempt.status, attempt.transportError?.kind.rawValue,
                        isSuccess ? nil : errorMessage, isSuccess ? nil : error?.errorCode,
                        keepsLease, keepsLease, entryID,
                    ])
            } else {
                try db.execute(sql: """
                    UPDATE entry SET attemptCount = MAX(attemptCount, ?), updatedAt = ?, lastStatus = ?,
                        lastTransportError = ?, lastErrorMessage = ?, lastErrorCode = ?
                    WHERE id = ?
                    """, arguments: [
                        attempt.number, now, attempt.status, attempt.transportError?.kind.rawValue,
                        errorMessage, error?.errorCode, entryID,
                    ])
            }
            guard let entry = try Entry.fetchOne(db, sql: "\(Self.entrySelection) WHERE entry.id = ?", arguments: [entryID]) else {
                throw JournalError(.notFound, "entry \(entryID) vanished while its attempt was recorded", entryID: entryID)
            }
            return entry
        }
    }
}
