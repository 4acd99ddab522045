import Foundation

/// The wall clock the journal reads: every time the library stamps on an entry or an attempt, or
/// compares with one (due times, leases, holds, budgets, expiry), comes from it.
///
/// One clock is set per journal, in ``Journal/Configuration/clock``; the client and the replay engine
/// read their journal's. Durations (an attempt's, a deadline's) are measured on `ContinuousClock`,
/// which a wall clock set back or forward cannot disturb.
///
/// ```swift
/// var configuration = Journal.Configuration()
/// configuration.clock = JournalClock { fixedDate }
/// let journal = try Journal(path: path, configuration: configuration)
/// ```
public struct JournalClock: Sendable {
    private let reading: @Sendable () -> Date

    /// A clock that reads `reading` each time the time is asked.
    public init(_ reading: @escaping @Sendable () -> Date) {
        self.reading = reading
    }

    /// The system's wall clock: the only place the library reads it.
    public static let system = JournalClock { Date() }

    /// The time now.
    public func now() -> Date {
        reading()
    }
}
