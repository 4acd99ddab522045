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
