import Foundation
import PicusJournal
import Synchronization

/// A wall clock that moves only when a test moves it: due times, leases, holds and expiry then
/// happen in milliseconds of real time, and always in the same order.
///
/// ```swift
/// let clock = ManualClock()
/// let journal = try TemporaryJournal(clock: clock)
/// // … a 503 with Retry-After: 60 …
/// clock.advance(by: .seconds(61))
/// ```
public final class ManualClock: Sendable {
    private let current: Mutex<Date>

    /// A clock that reads `start` until it is moved.
    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    /// The time it reads now.
    public var now: Date { current.withLock { $0 } }

    /// Moves the clock forward (or, with a negative duration, back).
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }

    /// Sets the clock to `date`.
    public func set(to date: Date) {
        current.withLock { $0 = date }
    }

    /// This clock as a journal, a client or credentials read it.
    public var journalClock: JournalClock {
        JournalClock { [self] in now }
    }
}
