import Foundation
@testable import PicusJournal
import Testing
import PicusJournalTesting

struct TimestampTests {
    /// Foundation's format style truncates binary fractions (…0.999 prints .998); the journal prints the stored millisecond.
    @Test func unixMillisecondsRoundTripAndFormatExactly() {
        let expected: [Int64: String] = [
            0: "1970-01-01T00:00:00.000Z", 999: "1970-01-01T00:00:00.999Z", 1_611_131_624_037: "2021-01-20T08:33:44.037Z",
            951_782_400_000: "2000-02-29T00:00:00.000Z", 253_402_300_799_999: "9999-12-31T23:59:59.999Z",
        ]
        for (milliseconds, text) in expected {
            let date = Date(unixMilliseconds: milliseconds)
            #expect(date.unixMilliseconds == milliseconds)
            #expect(ISO8601.string(from: date) == text)
            #expect(ISO8601.date(from: text)?.unixMilliseconds == milliseconds)
        }
        #expect(ISO8601.string(from: Date(unixMilliseconds: 1_795_599_231_819)) == "2026-11-25T09:33:51.819Z")
        #expect(Date(timeIntervalSince1970: .infinity).unixMilliseconds == .max)
    }
}
