import Foundation

/// What one response says about time, read once: when the server allows a retry, and its rate-limit
/// window. Every time it names is clamped here, and only here, to the retry policy's longest wait.
///
/// ```swift
/// let timing = ServerTiming(status: 429, headers: ["retry-after": "30"], longestWait: .seconds(86_400), now: now)
/// timing.earliestRetry   // now + 30 s
/// ```
public struct ServerTiming: Sendable, Hashable {
    /// A rate-limit window the server reported: requests left until when.
    public struct Budget: Sendable, Hashable {
        /// `X-Ratelimit-Remaining`, at least 0.
        public var remaining: Int
        /// `X-Ratelimit-Reset`, clamped to the longest wait.
        public var resetAt: Date
        /// `X-Ratelimit-Limit`, when positive.
        public var windowLimit: Int?

        /// Creates a budget.
        public init(remaining: Int, resetAt: Date, windowLimit: Int?) {
            self.remaining = remaining
            self.resetAt = resetAt
            self.windowLimit = windowLimit
        }
    }

    /// `Retry-After` in either form, clamped to the longest wait; nil when absent or unusable. It may
    /// lie in the past (an HTTP-date already passed).
    public var retryAfter: Date?
    /// `X-Ratelimit-Limit`.
    public var rateLimitLimit: Int?
    /// `X-Ratelimit-Remaining`.
    public var rateLimitRemaining: Int?
    /// `X-Ratelimit-Reset` as the server meant it (epoch seconds or milliseconds, or a delta), not
    /// clamped: what the journal records. `.distantFuture` for a value past what a date holds.
    public var rateLimitReset: Date?
    /// The earliest time the server allows a retry: ``retryAfter``, else on a 429 the reset; clamped.
    public var earliestRetry: Date?
    /// The window, when the server told both how many requests remain and a reset still to come.
    public var budget: Budget?

    /// Reads a response's header fields.
    ///
    /// - Parameters:
    ///   - status: The response's status; only a 429 makes the reset a retry time.
    ///   - headers: Its header fields, names in lower case.
    ///   - longestWait: The longest wait honoured (``RetryPolicy/longestWait``); a longer ask is clamped to it.
    ///   - now: When the response arrived.
    public init(status: Int, headers: [String: String], longestWait: Duration, now: Date) {
        let latest = now.addingTimeInterval(longestWait.timeInterval)
        func number(_ name: String) -> Int? {
            headers[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        retryAfter = headers["retry-after"].flatMap { Self.retryAfterDate($0, now: now) }.map { min($0, latest) }
        rateLimitLimit = number("x-ratelimit-limit")
        rateLimitRemaining = number("x-ratelimit-remaining")
        rateLimitReset = headers["x-ratelimit-reset"].flatMap { Self.rateLimitResetDate($0, now: now) }
        earliestRetry = retryAfter ?? (status == 429 ? rateLimitReset.map { min($0, latest) } : nil)
        if let remaining = rateLimitRemaining, let reset = rateLimitReset, reset > now {
            budget = Budget(remaining: max(0, remaining), resetAt: min(reset, latest),
                            windowLimit: rateLimitLimit.flatMap { $0 > 0 ? $0 : nil })
        }
    }

    /// How long ``retryAfter`` asks to wait from `now`, in whole milliseconds; nil without one.
    public func retryAfterMilliseconds(from now: Date) -> Int64? {
        retryAfter.map { Int64((max(0, $0.timeIntervalSince(now)) * 1000).rounded()) }
    }

    /// Parses `Retry-After`: delta seconds or an HTTP-date (RFC 9110 §10.2.3). A delta too large to
    /// represent is `.distantFuture` (the caller clamps it); a negative or unparsable value is nil.
    public static func retryAfterDate(_ value: String, now: Date) -> Date? {
        let value = value.trimmingCharacters(in: .whitespaces)
        if !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // delta-seconds = 1*DIGIT: any number of digits, so a huge one is a very long wait.
            guard let seconds = Double(value), seconds.isFinite, seconds < 1e12 else { return .distantFuture }
            return now.addingTimeInterval(seconds)
        }
        return HTTPDate.parse(value)
    }

    /// Parses `X-Ratelimit-Reset`. Picus documents epoch seconds; milliseconds (above 10^12) are read
    /// too. Some gateways send the seconds until the reset instead, as other APIs do: a value below
    /// 10^9 (2001, before any reset this code will see) is such a delta from `now`. A value past what
    /// a date can hold is `.distantFuture`; a negative, zero or unparsable one is nil.
    static func rateLimitResetDate(_ value: String, now: Date) -> Date? {
        guard let reset = Double(value.trimmingCharacters(in: .whitespaces)), reset > 0, !reset.isNaN else { return nil }
        guard reset.isFinite, reset < 1e15 else { return .distantFuture }
        if reset < 1e9 { return now.addingTimeInterval(reset) }
        return Date(timeIntervalSince1970: reset > 1e12 ? reset / 1000 : reset)
    }
}
