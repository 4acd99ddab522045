import Foundation

extension Date {
    /// Unix milliseconds, the unit the journal stores and the Picus API uses.
    package var unixMilliseconds: Int64 {
        // Nearest, not down: a date made from whole milliseconds must give them back despite binary floating point.
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
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
        var text = [UInt8]()
        text.reserveCapacity(24)
        // Years 1970…9999 by hand (exports format millions of them); the format style for the rest.
        guard append(milliseconds: date.unixMilliseconds, to: &text) else { return withFraction.format(date) }
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends the form of a unix-millisecond time in years 1970…9999 to `text`; false, appending
    /// nothing, for any other time.
    package static func append(milliseconds: Int64, to text: inout [UInt8]) -> Bool {
        guard milliseconds >= 0, milliseconds < 253_402_300_800_000 else { return false }
        let (civilYear, civilMonth, civilDay) = civil(fromDays: milliseconds / 86_400_000)
        let year = Int(civilYear), month = Int(civilMonth), day = Int(civilDay), inDay = Int(milliseconds % 86_400_000)
        let hour = inDay / 3_600_000, minute = inDay / 60_000 % 60, second = inDay / 1000 % 60, millisecond = inDay % 1000
        let zero = UInt8(ascii: "0")
        func digit(_ value: Int) -> UInt8 { zero &+ UInt8(truncatingIfNeeded: value) }
        // yyyy-MM-ddTHH:mm:ss.SSSZ, one digit at a time: this runs for every time of every exported entry.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { form in
            form[0] = digit(year / 1000); form[1] = digit(year / 100 % 10); form[2] = digit(year / 10 % 10); form[3] = digit(year % 10)
            form[4] = UInt8(ascii: "-"); form[5] = digit(month / 10); form[6] = digit(month % 10)
            form[7] = UInt8(ascii: "-"); form[8] = digit(day / 10); form[9] = digit(day % 10)
            form[10] = UInt8(ascii: "T"); form[11] = digit(hour / 10); form[12] = digit(hour % 10)
            form[13] = UInt8(ascii: ":"); form[14] = digit(minute / 10); form[15] = digit(minute % 10)
            form[16] = UInt8(ascii: ":"); form[17] = digit(second / 10); form[18] = digit(second % 10)
            form[19] = UInt8(ascii: "."); form[20] = digit(millisecond / 100); form[21] = digit(millisecond / 10 % 10)
            form[22] = digit(millisecond % 10); form[23] = UInt8(ascii: "Z")
            text.append(contentsOf: UnsafeBufferPointer(form))
        }
        return true
    }

    /// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's civil_from_days).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Parses a full timestamp with or without fractional seconds, or a bare date (midnight UTC).
    package static func date(from text: String) -> Date? {
        (try? withFraction.parse(text)) ?? (try? withoutFraction.parse(text)) ?? (try? dateOnly.parse(text))
    }
}
