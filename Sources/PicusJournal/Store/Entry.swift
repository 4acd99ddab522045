import Foundation

/// One logical request in the journal, with where it stands.
public struct Entry: Sendable, Hashable, Identifiable {
    /// The journal's id: what the CLI shows and takes.
    public var id: Int64
    /// Sent as the `Idempotency-Key` header on every attempt.
    public var uuid: UUID
    /// When the entry was written.
    public var createdAt: Date
    /// When the entry last changed.
    public var updatedAt: Date
    /// The base URL it was sent to, such as `https://api.picussecurity.com`.
    public var origin: String?
    /// The HTTP method.
    public var method: String
    /// The path, without the query string.
    public var path: String
    /// The query string without its `?`, or nil.
    public var query: String?
    /// The method and path with id segments folded, `GET /v1/agents/{id}`: the unit of rate limits.
    public var endpoint: String
    /// The request headers as journaled: redacted, never a token.
    public var requestHeaders: [String: String]
    /// The request body, kept for replay.
    public var requestBody: Data?
    /// Where the entry stands.
    public var state: EntryState
    /// How many attempts have been recorded.
    public var attemptCount: Int
    /// The HTTP status of the last attempt, nil when it got no response or none was made.
    public var lastStatus: Int?
    /// Why the last attempt got no response, if it did not.
    public var lastTransportError: TransportError.Kind?
    /// The decoded error message of the last attempt.
    public var lastErrorMessage: String?
    /// The Picus `error_code` of the last attempt.
    public var lastErrorCode: String?
    /// The `errors` field of the last attempt's decoded error body.
    public var lastErrors: JSONValue?
    /// When a queued entry falls due for replay.
    public var nextAttemptAt: Date?
    /// The earliest time the server allowed a retry (`Retry-After`, `X-Ratelimit-Reset`); nothing sends before it.
    public var notBefore: Date?
    /// Who holds the lease of an in-flight entry.
    public var leaseOwner: String?
    /// When that lease runs out.
    public var leaseExpiresAt: Date?
    /// Whether the entry may ever be replayed: decided by the retry policy, overrides included,
    /// when it was written.
    public var isReplayable: Bool
    /// The trace context of the caller that wrote the entry; every attempt, replays included, continues its trace.
    public var traceContext: TraceContext?
    /// The agent whose journal the entry was shipped from, when it was read from a fleet store;
    /// nil in a local journal.
    public var agent: String?

    /// The last attempt's decoded error, nil when it succeeded or left no message.
    public var lastError: (message: String?, errorCode: String?, errors: JSONValue?)? {
        guard lastErrorMessage != nil || lastErrorCode != nil || lastErrors != nil else { return nil }
        return (lastErrorMessage, lastErrorCode, lastErrors)
    }

    /// When a replay may send the entry: the later of `nextAttemptAt` and `notBefore`.
    public var dueAt: Date? {
        switch (nextAttemptAt, notBefore) {
        case let (next?, server?): max(next, server)
        case let (next, server): next ?? server
        }
    }

    /// The path as requested, with secret query parameters (`token=`, `api_key=`, …) redacted: what
    /// lists, shows and exports print.
    public var redactedTarget: String {
        guard let query, !query.isEmpty else { return path }
        return "\(path)?\(Redactor.query(query))"
    }

    /// The path as requested, query string included.
    public var target: String {
        guard let query, !query.isEmpty else { return path }
        return "\(path)?\(query)"
    }
}
