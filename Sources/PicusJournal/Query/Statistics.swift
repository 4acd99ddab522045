import Foundation

/// What the journal holds, for `picus-journal stats`: counts, failure rate, the most frequent
/// errors, the queue, and optionally the same counts grouped.
public struct Statistics: Sendable, Encodable {
    /// How entries are grouped.
    public enum Grouping: String, Sendable, CaseIterable {
        /// By last HTTP status (or transport failure).
        case status
        /// By path, query excluded.
        case path
        /// By Picus `error_code`.
        case errorCode = "error-code"
        /// By the agent whose journal they were shipped from (a fleet store's grouping).
        case agent
        /// By the hour they were created, UTC.
        case hour
        /// By the day they were created, UTC.
        case day
    }

    /// One group's counts.
    public struct Group: Sendable, Encodable {
        /// The group's key: `422`, `/v1/agents`, `1001`, `2026-11-25T09:00Z`, `2026-11-25`, or `none`.
        public var key: String
        /// Entries in the group.
        public var count: Int
        /// Entries that failed for good or expired.
        public var failed: Int
        /// `failed` over the entries that finished, or nil when none finished.
        public var failureRate: Double?
    }

    /// One frequent error message.
    public struct Message: Sendable, Encodable {
        /// The message.
        public var message: String
        /// How many entries ended with it.
        public var count: Int

        package init(message: String, count: Int) {
            self.message = message
            self.count = count
        }
    }

    /// The oldest entry still waiting.
    public struct Waiting: Sendable, Encodable {
        /// Its id.
        public var id: Int64
        /// When it was written.
        public var createdAt: Date
        /// When it falls due.
        public var dueAt: Date?
    }

    /// Entries that match.
    public var total: Int
    /// Of those, how many in each state.
    public var byState: [String: Int]
    /// Failed and expired over the entries that finished (succeeded, failed, expired); nil when none finished.
    public var failureRate: Double?
    /// The most frequent last error messages, most frequent first.
    public var topErrors: [Message]
    /// Entries waiting to be sent (queued or pending).
    public var queueDepth: Int
    /// The oldest of them.
    public var oldestQueued: Waiting?
    /// The grouping asked for, if any.
    public var grouping: String?
    /// The counts per group, largest first (by time for hour and day).
    public var groups: [Group]

    private enum Key: String, CodingKey {
        case total, byState, failureRate, topErrors, queueDepth, oldestQueued, grouping, groups
    }

    /// Encodes the statistics as `stats --format json` prints them; absent values are `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(total, forKey: .total)
        try container.encode(byState, forKey: .byState)
        try container.encode(failureRate, forKey: .failureRate)
        try container.encode(topErrors, forKey: .topErrors)
        try container.encode(queueDepth, forKey: .queueDepth)
        if let oldestQueued {
            try container.encode(
                ["id": .integer(oldestQueued.id), "createdAt": .string(ISO8601.string(from: oldestQueued.createdAt)),
                 "dueAt": oldestQueued.dueAt.map { JSONValue.string(ISO8601.string(from: $0)) } ?? .null] as [String: JSONValue],
                forKey: .oldestQueued)
        } else {
            try container.encodeNil(forKey: .oldestQueued)
        }
        try container.encode(grouping, forKey: .grouping)
        try container.encode(groups, forKey: .groups)
    }
}
