import Foundation

/// How long finished entries are kept, counted from when they finished. Queued, pending and in-flight entries are never pruned:
/// a queued entry goes only once it has expired.
public struct RetentionPolicy: Sendable, Hashable {
    /// How long a succeeded entry is kept.
    public var succeeded: Duration = .seconds(7 * 86_400)
    /// How long a failed entry is kept.
    public var failed: Duration = .seconds(30 * 86_400)
    /// How long an expired entry is kept.
    public var expired: Duration = .seconds(30 * 86_400)
    /// How long a cancelled entry is kept.
    public var cancelled: Duration = .seconds(30 * 86_400)

    /// The defaults: succeeded 7 days; failed, expired and cancelled 30 days.
    public init() {}

    /// Each prunable state with how long it is kept.
    public var ages: [(state: EntryState, age: Duration)] {
        [(.succeeded, succeeded), (.failed, failed), (.expired, expired), (.cancelled, cancelled)]
    }

    /// The states prune may delete.
    public static let prunableStates: Set<EntryState> = [.succeeded, .failed, .expired, .cancelled]
}
