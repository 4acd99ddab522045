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
    /// Whether the policy (overrides included) may ever replay it: decided once, here.
    package var isReplayable: Bool
    /// The caller's trace context, continued by every attempt and replay.
    package var traceContext: TraceContext?
    /// Whether a send is written `queued`, not sent, while its endpoint (or the host) is held back.
    package var queuesIfHeld = false
    /// When a queued entry falls due.
    package var nextAttemptAt: Date?

    package init(
        uuid: UUID = UUID(), origin: String? = nil, method: String, path: String, query: String? = nil, headers: [String: String],
        body: Data? = nil, state: EntryState, leaseOwner: String? = nil, leaseExpiresAt: Date? = nil, createdAt: Date,
        isReplayable: Bool = true, traceContext: TraceContext? = nil
    ) {
        self.traceContext = traceContext
        self.isReplayable = isReplayable
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
    /// The endpoint's rate-limit budget the answer told: requests remaining until when (clamped to
    /// the policy's longest wait). A spent budget holds the endpoint back until the reset.
    package var budget: (remaining: Int, resetAt: Date, windowLimit: Int?)?

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
    static let entrySelection = SQLDialect.sqlite(fullTextSearch: false).entrySelection
}
