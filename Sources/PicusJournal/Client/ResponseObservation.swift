import Foundation

/// What one response says, parsed once: status, headers as stored, `Retry-After`, `X-Ratelimit-*`,
/// the server's earliest retry and the decoded error body. The policy, the journal and the log all
/// read this one value.
package struct ResponseObservation: Sendable {
    /// The status code.
    package var status: Int
    /// The header fields, lower-case names, as received (redact before storing).
    package var headers: [String: String]
    /// The decoded error body of a non-2xx answer.
    package var error: ErrorBody?
    /// How long the server asked to wait, in milliseconds, as it said it.
    package var retryAfterMs: Int64?
    /// `X-Ratelimit-Limit`.
    package var rateLimitLimit: Int?
    /// `X-Ratelimit-Remaining`.
    package var rateLimitRemaining: Int?
    /// `X-Ratelimit-Reset`.
    package var rateLimitReset: Int64?
    /// The earliest time the server allows a retry, clamped to the policy's longest wait.
    package var serverNotBefore: Date?
    /// Why the body is not whole, if it is not.
    package var bodyIssue: TransportResponse.BodyIssue?
    /// The extra names redacted from stored headers.
    package var redactionRules: RedactionRules

    /// Observes a response.
    ///
    /// - Parameters:
    ///   - response: What the transport returned.
    ///   - policy: Clamps the server's times.
    ///   - secrets: Values never to store (the tokens this process holds): scrubbed from the headers and
    ///     the error body before anything is decoded from them.
    ///   - rules: Extra names to redact.
    ///   - now: The time the response arrived.
    package init(_ response: TransportResponse, policy: RetryPolicy, secrets: [String] = [], rules: RedactionRules = RedactionRules(),
                 now: Date) {
        status = response.status
        headers = response.headerDictionary.mapValues { Redactor.scrub($0, secrets: secrets) }
        redactionRules = rules
        bodyIssue = response.bodyIssue
        if (200..<300).contains(status) {
            error = nil
        } else {
            let stored = Redactor.scrub(Redactor.body(response.body, rules: rules), secrets: secrets)
            var body = ErrorBody.decode(stored, contentType: headers["content-type"], cap: stored.count)
            // A token written with JSON escapes (`\/`, `\u0061`) survives the byte scrub: scrub what was decoded.
            body.message = body.message.map { Redactor.scrub($0, secrets: secrets) }
            body.errorCode = body.errorCode.map { Redactor.scrub($0, secrets: secrets) }
            if let errors = body.errors, !secrets.isEmpty {
                let text = errors.jsonText
                let scrubbed = Redactor.scrub(text, secrets: secrets)
                if scrubbed != text { body.errors = JSONValue(parsing: Data(scrubbed.utf8)) ?? .string(Redactor.placeholder) }
            }
            body.size = max(body.size, response.bodySize)
            error = body
        }
        // As the server asked, clamped to the longest wait the policy honours.
        retryAfterMs = headers["retry-after"]
            .flatMap { RetryPolicy.retryAfterDate($0, now: now) }
            .map { Int64((min(max(0, $0.timeIntervalSince(now)), policy.longestWait.timeInterval) * 1000).rounded()) }
        rateLimitLimit = headers["x-ratelimit-limit"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        rateLimitRemaining = headers["x-ratelimit-remaining"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        rateLimitReset = headers["x-ratelimit-reset"].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 > 0 ? $0 : nil }
        serverNotBefore = policy.earliestRetry(status: status, headers: headers, now: now)
    }

    /// The attempt to record for this response.
    package func attempt(number: Int, startedAt: Date, durationMs: Double, outcome: Attempt.Outcome) -> NewAttempt {
        NewAttempt(
            number: number, startedAt: startedAt, durationMs: durationMs, status: status, outcome: outcome,
            responseHeaders: Redactor.headers(headers, rules: redactionRules), error: error, retryAfterMs: retryAfterMs,
            rateLimitLimit: rateLimitLimit, rateLimitRemaining: rateLimitRemaining, rateLimitReset: rateLimitReset,
            serverNotBefore: serverNotBefore)
    }
}
