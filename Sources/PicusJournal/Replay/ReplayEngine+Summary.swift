import Foundation
import Logging
import ServiceLifecycle

extension ReplayEngine {
    /// What to replay in one ``ReplayEngine/drain(_:onReplay:)``.
    public struct DrainOptions: Sendable {
        /// Only this entry.
        public var entryID: Int64?
        /// At most this many entries.
        public var limit: Int?
        /// Ignore `nextAttemptAt`; never a live lease, a `succeeded` entry, or a time the server asked for.
        public var force = false

        /// Everything due now.
        public init(entryID: Int64? = nil, limit: Int? = nil, force: Bool = false) {
            self.entryID = entryID
            self.limit = limit
            self.force = force
        }
    }

    /// What one drain did.
    public struct Summary: Sendable {
        /// One replayed entry and what became of it.
        public struct Item: Sendable {
            /// The entry after its replay.
            public var entry: Entry
            /// The line ``Delivery/summary`` gives.
            public var summary: String
        }

        /// Every entry replayed, in the order they finished.
        public var items: [Item] = []
        /// Entries taken back from a sender that died.
        public var recovered: [Int64] = []
        /// Entries expired without a send because they grew too old.
        public var expiredUnsent: [Int64] = []
        /// Until when the host is backed off, if the drain stopped for that.
        public var hostBackedOffUntil: Date?

        /// How many entries were sent.
        public var replayed: Int { items.count }
        /// The entries that succeeded.
        public var succeeded: [Entry] { items.map(\.entry).filter { $0.state == .succeeded } }
        /// The entries back in the queue, with their next time.
        public var requeued: [Entry] { items.map(\.entry).filter { $0.state == .queued } }
        /// The entries that failed for good.
        public var failed: [Entry] { items.map(\.entry).filter { $0.state == .failed } }
        /// The entries whose retry budget ran out.
        public var expired: [Entry] { items.map(\.entry).filter { $0.state == .expired } }
    }
}
