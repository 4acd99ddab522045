import Foundation

/// What one response says, parsed once: status, headers, the decoded error body, and the attempt it
/// makes (`Retry-After`, `X-Ratelimit-*`, the server's earliest retry). The policy, the journal and the
/// log all read this one value.
package struct ResponseObservation: Sendable {
    /// The status code.
    package var status: Int
    /// The header fields, lower-case names, as received (redact before storing).
    package var headers: [String: String]
    /// The decoded error body of a non-2xx answer.
    package var error: ErrorBody?
    /// Why the body is not whole, if it is not.
    package var bodyIssue: TransportResponse.BodyIssue?
    /// What the response says about time, clamped to the policy's longest wait.
    package let timing: ServerTiming
    /// The attempt this response makes, all but its number, timing and outcome: redacted headers,
    /// error body, `Retry-After`, `X-Ratelimit-*` and the server's earliest retry, parsed once here.
    private var recorded: NewAttempt

    /// Observes a response.
    ///
    /// - Parameters:
    ///   - response: What the transport returned.
    ///   - policy: Clamps the server's times.
    ///   - matcher: Finds the values never to store (the tokens this process holds): every spelling of
    ///     them is scrubbed from the headers and the error body before anything is decoded or capped.
    ///   - rules: Extra names to redact.
    ///   - errorBodyCap: How many bytes of an error body to keep, once it is scrubbed.
    ///   - now: The time the response arrived.
    package init(_ response: TransportResponse, policy: RetryPolicy, scrubbing matcher: SecretMatcher = SecretMatcher([]),
                 rules: RedactionRules = RedactionRules(),
                 errorBodyCap: Int = ErrorBody.defaultCap, now: Date) {
        let status = response.status
        let headers = response.headerDictionary.mapValues { Redactor.scrub($0, matcher: matcher) }
        var error: ErrorBody?
        if !(200..<300).contains(status) {
            error = ErrorBody.stored(from: response, scrubbing: matcher, rules: rules, contentType: headers["content-type"],
                                     cap: errorBodyCap)
        }
        self.status = status
        self.headers = headers
        self.error = error
        bodyIssue = response.bodyIssue
        let timing = ServerTiming(status: status, headers: headers, longestWait: policy.longestWait, now: now)
        self.timing = timing
        recorded = NewAttempt(
            number: 0, startedAt: now, durationMs: 0, status: status, outcome: .success,
            responseHeaders: Redactor.headers(headers, rules: rules), error: error,
            retryAfterMs: timing.retryAfterMilliseconds(from: now),
            rateLimitLimit: timing.rateLimitLimit, rateLimitRemaining: timing.rateLimitRemaining,
            // Stored as the epoch seconds it means, whichever way the server wrote it.
            rateLimitReset: timing.rateLimitReset.flatMap { $0 == .distantFuture ? nil : Int64($0.timeIntervalSince1970.rounded()) },
            serverNotBefore: timing.earliestRetry)
        recorded.budget = timing.budget
    }

    /// The attempt to record for this response.
    package func attempt(number: Int, startedAt: Date, durationMs: Double, outcome: Attempt.Outcome) -> NewAttempt {
        var attempt = recorded
        attempt.number = number
        attempt.startedAt = startedAt
        attempt.durationMs = durationMs
        attempt.outcome = outcome
        return attempt
    }
}
