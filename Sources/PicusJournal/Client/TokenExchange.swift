import Foundation
import HTTPTypes
import Logging
import Tracing

/// How a ``CredentialProvider`` reaches its token endpoint: through the client's own transport,
/// timeout, clock, tracing and metrics.
///
/// A ``JournaledClient`` hands its exchange to ``CredentialProvider/accessToken(through:)``, so a
/// token exchange travels the same transport as every journaled request, gets a client span
/// (`POST /v1/auth/token`, no token in any attribute) under the caller's trace, and counts in
/// ``JournalMetrics/Name/tokenExchanges``. It is never journaled: its body carries the refresh token
/// and its answer the access token.
public struct TokenExchange: Sendable {
    /// The transport the exchange is sent on.
    public let transport: any HTTPTransport
    /// How long one exchange may take.
    public let timeout: Duration
    /// The wall clock a token's expiry is read against: the client's journal's.
    public let clock: JournalClock
    private let tracing: AttemptTracing
    private let metrics: JournalMetrics
    private let logger: Logger

    /// An exchange outside any client: no spans, no metrics. For a provider used on its own.
    public init(transport: any HTTPTransport = DefaultTransport.shared, timeout: Duration = .seconds(30), clock: JournalClock = .system) {
        self.init(transport: transport, timeout: timeout, clock: clock, tracing: AttemptTracing(tracer: nil),
                  metrics: .disabled, logger: .disabled)
    }

    package init(transport: any HTTPTransport, timeout: Duration, clock: JournalClock, tracing: AttemptTracing,
                 metrics: JournalMetrics, logger: Logger) {
        self.transport = transport
        self.timeout = timeout
        self.clock = clock
        self.tracing = tracing
        self.metrics = metrics
        self.logger = logger
    }

    /// Sends one exchange request, traced and counted.
    ///
    /// - Throws: ``TransportError`` when no response arrived.
    public func send(_ request: HTTPRequest, body: Data?) async throws -> TransportResponse {
        let span = tracing.startSpan(exchanging: request)
        var request = request
        tracing.inject(span, stored: nil, into: &request.headerFields)
        let stopwatch = ContinuousClock()
        let start = stopwatch.now
        do {
            let response = try await transport.send(request, body: body, options: TransportOptions(
                timeout: timeout, maximumErrorBodySize: ErrorBody.defaultCap + ErrorBody.scrubbingMargin))
            tracing.end(span, status: response.status)
            metrics.tokenExchange(status: response.status, transportError: nil, duration: stopwatch.now - start)
            logger.debug("token exchange answered", metadata: ["http.response.status_code": "\(response.status)"])
            return response
        } catch {
            let failure = (error as? TransportError) ?? TransportError(.other, String(describing: error))
            tracing.end(span, failure: failure)
            metrics.tokenExchange(status: nil, transportError: failure.kind, duration: stopwatch.now - start)
            logger.debug("token exchange failed", metadata: ["picus.transport_error": "\(failure.kind.rawValue)"])
            throw failure
        }
    }
}
