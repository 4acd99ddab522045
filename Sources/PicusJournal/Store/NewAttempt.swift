import Foundation

/// An attempt about to be recorded.
package struct NewAttempt: Sendable {
    package var number: Int
    package var startedAt: Date
    package var durationMs: Double
    package var status: Int?
    package var transportError: TransportError?
    package var outcome: Attempt.Outcome
    package var responseHeaders: [String: String]
    package var error: ErrorBody?
    package var retryAfterMs: Int64?
    package var rateLimitLimit: Int?
    package var rateLimitRemaining: Int?
    package var rateLimitReset: Int64?
    /// The earliest retry the server allowed; a 429 holds back the whole endpoint until then.
    package var serverNotBefore: Date?
    /// The endpoint's rate-limit budget the answer told: requests remaining until when (clamped to
    /// the policy's longest wait). A spent budget holds the endpoint back until the reset.
    package var budget: ServerTiming.Budget?

    package init(
        number: Int, startedAt: Date, durationMs: Double, status: Int? = nil, transportError: TransportError? = nil,
        outcome: Attempt.Outcome, responseHeaders: [String: String], error: ErrorBody? = nil, retryAfterMs: Int64? = nil,
        rateLimitLimit: Int? = nil, rateLimitRemaining: Int? = nil, rateLimitReset: Int64? = nil,
        serverNotBefore: Date? = nil
    ) {
        self.number = number
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.status = status
        self.transportError = transportError
        self.outcome = outcome
        self.responseHeaders = responseHeaders
        self.error = error
        self.retryAfterMs = retryAfterMs
        self.rateLimitLimit = rateLimitLimit
        self.rateLimitRemaining = rateLimitRemaining
        self.rateLimitReset = rateLimitReset
        self.serverNotBefore = serverNotBefore
    }
}
