import Foundation

/// Decides what happens to an entry after an attempt: done, failed for good, replayed later, or expired.
///
/// Pure: it reads the attempt, the entry's age and attempt count, and a clock and a random source
/// the caller passes, so tests control both.
///
/// Defaults: 408, 429, 503, 504 and transport failures (offline, refused, reset, timed out, DNS)
/// are retried with exponential backoff and full jitter (base 1 s, cap 10 min); `Retry-After`
/// (delta seconds or HTTP-date) and, on a 429, `X-Ratelimit-Reset` set the earliest time; after 10
/// attempts or 7 days the entry expires. `POST /v1/auth/token` and `POST /v1/auth/refresh` are
/// never replayed. ``overrides`` change any of it for some methods and paths.
public struct RetryPolicy: Sendable, Hashable {
    /// A method and path the policy treats specially.
    public struct Endpoint: Hashable, Sendable {
        /// The HTTP method, upper case.
        public var method: String
        /// The path, without query string.
        public var path: String

        /// Creates an endpoint. The path is normalised: no empty segments, no trailing slash.
        public init(_ method: String, _ path: String) {
            self.method = method.uppercased()
            self.path = "/" + path.split(separator: "/").joined(separator: "/")
        }

        /// The endpoint key the journal stores, `POST /v1/auth/token`.
        var key: String { EndpointKey.make(method: method, path: path) }
    }

    /// What to do with an entry after an attempt.
    public enum Decision: Sendable, Hashable {
        /// It succeeded.
        case succeed
        /// It failed for good.
        case fail
        /// Replay it at this time.
        case retry(at: Date)
        /// Its retry budget or age is spent.
        case expire
    }

    /// Statuses that queue the entry for replay: by default those Picus documents as "not now"
    /// (``StatusCode/retryableByDefault``: 408, 429, 503, 504). 500 is not among them unless you add it.
    public var retryableStatuses: Set<Int> = StatusCode.retryableByDefault
    /// Whether transport failures of a retryable kind queue the entry.
    public var retriesTransportFailures = true
    /// The first backoff's upper bound.
    public var baseDelay: Duration = .seconds(1)
    /// The largest backoff.
    public var maximumDelay: Duration = .seconds(600)
    /// The longest wait a server's `Retry-After` or `X-Ratelimit-Reset` can impose; a longer ask is clamped.
    public var longestWait: Duration = .seconds(86_400)
    /// After this many attempts the entry expires.
    public var maximumAttempts = 10
    /// After this age the entry expires.
    public var maximumAge: Duration = .seconds(7 * 86_400)
    /// The token exchange: never sent with a bearer token, never replayed by default.
    public static let tokenExchange: Set<Endpoint> = [Endpoint("POST", "/v1/auth/token"), Endpoint("POST", "/v1/auth/refresh")]

    /// Endpoints never replayed: a retryable outcome fails them instead.
    public var neverReplayed: Set<Endpoint> = RetryPolicy.tokenExchange

    /// Settings that differ for some requests, by method, path or both; later ones win.
    ///
    /// ```swift
    /// var policy = RetryPolicy()
    /// policy.overrides = [
    ///     .init(method: "POST", path: "/v1/simulations", retryableStatuses: [408, 429, 500, 503, 504]),
    ///     .init(path: "/v1/templates/*", maximumAttempts: 3),
    /// ]
    /// ```
    public var overrides: [Override] = []

    /// Settings for the requests one override matches; nil keeps the policy's own.
    public struct Override: Sendable, Hashable {
        /// Only this method; nil for any.
        public var method: String?
        /// This path, or every path it prefixes when it ends in `*`.
        public var path: String
        /// Statuses that queue the entry.
        public var retryableStatuses: Set<Int>?
        /// Whether transport failures of a retryable kind queue the entry.
        public var retriesTransportFailures: Bool?
        /// After this many attempts the entry expires.
        public var maximumAttempts: Int?
        /// After this age the entry expires.
        public var maximumAge: Duration?
        /// False: never replay these requests; a retryable outcome fails them.
        public var isReplayable: Bool?

        /// Creates an override.
        public init(
            method: String? = nil, path: String, retryableStatuses: Set<Int>? = nil, retriesTransportFailures: Bool? = nil,
            maximumAttempts: Int? = nil, maximumAge: Duration? = nil, isReplayable: Bool? = nil
        ) {
            self.method = method?.uppercased()
            self.path = path
            self.retryableStatuses = retryableStatuses
            self.retriesTransportFailures = retriesTransportFailures
            self.maximumAttempts = maximumAttempts
            self.maximumAge = maximumAge
            self.isReplayable = isReplayable
        }

        /// Whether the override applies to a request.
        public func matches(method: String, path: String) -> Bool {
            if let wanted = self.method, wanted != method.uppercased() { return false }
            if self.path.hasSuffix("*") { return path.hasPrefix(self.path.dropLast()) }
            return path == self.path
        }
    }

    /// The default policy.
    public init() {}

    /// The policy for one request: these settings with every matching override applied, in order.
    public func resolved(method: String, path: String) -> RetryPolicy {
        var policy = self
        policy.overrides = []
        for override in overrides where override.matches(method: method, path: path) {
            if let value = override.retryableStatuses { policy.retryableStatuses = value }
            if let value = override.retriesTransportFailures { policy.retriesTransportFailures = value }
            if let value = override.maximumAttempts { policy.maximumAttempts = value }
            if let value = override.maximumAge { policy.maximumAge = value }
            if override.isReplayable == false { policy.neverReplayed.insert(Endpoint(method, path)) }
        }
        return policy
    }

    /// Whether the policy may ever replay a request to this endpoint.
    public func isReplayable(method: String, path: String) -> Bool {
        let policy = overrides.isEmpty ? self : resolved(method: method, path: path)
        return !policy.neverReplayed.contains(Endpoint(method, path))
    }

    /// Whether a response with this status queues its entry.
    public func isRetryable(status: Int) -> Bool {
        retryableStatuses.contains(status)
    }

    /// Whether a failed token exchange leaves the request it was for worth trying later: by the same
    /// statuses and transport rule as the request's own answer would be, so a 500 this policy
    /// retries is retried from the token exchange too.
    ///
    /// - Parameters:
    ///   - status: The token exchange's status, when it answered.
    ///   - transportError: Why it did not, when it did not.
    public func retriesTokenExchange(status: Int?, transportError: TransportError?) -> Bool {
        if let transportError { return retriesTransportFailures && transportError.isRetryableByDefault }
        return status.map(isRetryable(status:)) ?? false
    }

    /// The decision after an HTTP response.
    ///
    /// - Parameters:
    ///   - status: The response's status.
    ///   - headers: Its headers, names in lower case.
    ///   - attemptNumber: The number of the attempt just made (1 for the first).
    ///   - method: The entry's method.
    ///   - path: The entry's path.
    ///   - createdAt: When the entry was written.
    ///   - now: The current time.
    ///   - random: A number in 0..<1, for the jitter.
    public func decision(
        forStatus status: Int, headers: [String: String], attemptNumber: Int, method: String, path: String,
        createdAt: Date, now: Date, random: Double = Double.random(in: 0..<1)
    ) -> Decision {
        decision(forStatus: status, timing: ServerTiming(status: status, headers: headers, longestWait: longestWait, now: now),
                 attemptNumber: attemptNumber, method: method, path: path, createdAt: createdAt, now: now, random: random)
    }

    /// The decision after an HTTP response whose times were read once, into `timing`.
    public func decision(
        forStatus status: Int, timing: ServerTiming, attemptNumber: Int, method: String, path: String,
        createdAt: Date, now: Date, random: Double = Double.random(in: 0..<1)
    ) -> Decision {
        if (200..<300).contains(status) { return .succeed }
        let policy = overrides.isEmpty ? self : resolved(method: method, path: path)
        guard policy.isRetryable(status: status), policy.isReplayable(method: method, path: path) else { return .fail }
        return policy.retryDecision(attemptNumber: attemptNumber, createdAt: createdAt, now: now,
                                    serverAsked: timing.earliestRetry, random: random)
    }

    /// The decision after a transport failure.
    public func decision(
        for error: TransportError, attemptNumber: Int, method: String, path: String, createdAt: Date, now: Date,
        random: Double = Double.random(in: 0..<1)
    ) -> Decision {
        let policy = overrides.isEmpty ? self : resolved(method: method, path: path)
        guard policy.retriesTransportFailures, error.isRetryableByDefault, policy.isReplayable(method: method, path: path) else {
            return .fail
        }
        return policy.retryDecision(attemptNumber: attemptNumber, createdAt: createdAt, now: now, serverAsked: nil, random: random)
    }

    /// Retry at the later of the jittered backoff and the server's ask, or expire.
    public func retryDecision(attemptNumber: Int, createdAt: Date, now: Date, serverAsked: Date?, random: Double) -> Decision {
        if attemptNumber >= maximumAttempts { return .expire }
        if now.timeIntervalSince(createdAt) >= maximumAge.timeInterval { return .expire }
        var at = now.addingTimeInterval(backoff(afterAttempt: attemptNumber, random: random).timeInterval)
        if let serverAsked, serverAsked > at { at = serverAsked }
        return .retry(at: at)
    }

    /// Full jitter: a uniform wait between zero and `min(maximumDelay, baseDelay × 2^(attempt−1))`.
    public func backoff(afterAttempt attemptNumber: Int, random: Double) -> Duration {
        let exponent = Double(max(0, min(attemptNumber - 1, 40)))
        let ceiling = min(maximumDelay.timeInterval, baseDelay.timeInterval * pow(2, exponent))
        return .milliseconds(Int64((ceiling * min(max(random, 0), 1) * 1000).rounded()))
    }

    /// The earliest time the server allows a retry: `Retry-After` in either form, else on a 429
    /// `X-Ratelimit-Reset`; a time beyond `longestWait` is clamped to it, in every form. Nil when the
    /// server said nothing usable (a negative or unparsable value is ignored). See ``ServerTiming``.
    public func earliestRetry(status: Int, headers: [String: String], now: Date) -> Date? {
        ServerTiming(status: status, headers: headers, longestWait: longestWait, now: now).earliestRetry
    }
}

/// HTTP-dates as RFC 9110 defines them: IMF-fixdate, and the obsolete RFC 850 and asctime forms.
package enum HTTPDate {
    package static func parse(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    package static func string(from date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
