import Foundation

extension Date {
    /// Unix milliseconds, the unit the journal stores and the Picus API uses.
    package var unixMilliseconds: Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded(.down)
        guard milliseconds.isFinite else { return milliseconds > 0 ? .max : 0 }
        // Saturate: a date from a hostile header must not trap.
        return Int64(exactly: milliseconds) ?? (milliseconds > 0 ? Int64.max : Int64.min)
    }

    /// The date of a unix-millisecond timestamp.
    package init(unixMilliseconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(unixMilliseconds) / 1000)
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    package var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds.
    package var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// The ISO 8601 form the CLI and exports print: UTC with milliseconds (`2026-11-25T08:56:55.123Z`).
package enum ISO8601 {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()
    private static let dateOnly = Date.ISO8601FormatStyle().year().month().day()

    package static func string(from date: Date) -> String {
        withFraction.format(date)
    }

    /// Parses a full timestamp with or without fractional seconds, or a bare date (midnight UTC).
    package static func date(from text: String) -> Date? {
        (try? withFraction.parse(text)) ?? (try? withoutFraction.parse(text)) ?? (try? dateOnly.parse(text))
    }
}
