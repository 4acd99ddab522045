import Foundation
import HTTPTypes
import Logging
import Tracing

/// Sends Picus API requests through the journal.
///
/// Each request is written to the journal and committed *before* it leaves the process. Every
/// attempt is recorded: status or transport failure, duration, redacted headers, the decoded
/// error body, `Retry-After` and `X-Ratelimit-*`. Every attempt carries `Idempotency-Key: <entry uuid>`.
/// A 401 refreshes the access token once and retries inline. A retryable outcome (408, 429, 503,
/// 504, or no response) leaves the entry `queued` with a `nextAttemptAt` for the replay engine.
///
/// ```swift
/// let journal = try Journal(path: "journal.sqlite")
/// let client = JournaledClient(
///     journal: journal, baseURL: URL(string: "https://api.picussecurity.com")!,
///     credentials: RefreshTokenCredentials(refreshToken: token, baseURL: baseURL))
/// let delivery = try await client.send(.get("/v1/agents"))
/// if delivery.isSuccess { use(delivery.response!.body) } else { print(delivery.summary) }
/// ```
public final class JournaledClient: Sendable {
    /// How the client behaves.
    public struct Configuration: Sendable {
        /// How long one attempt may take, from connecting to the last byte of the body.
        public var timeout: Duration = .seconds(30)
        /// How long a sender's lease lasts between renewals. A live sender renews it every third of
        /// this, so it never lapses under a slow attempt; a sender that cannot be tested for life (on
        /// another host) is taken back this long after its last renewal.
        public var leaseDuration: Duration = .seconds(30)
        /// Which outcomes are replayed, and when.
        public var retryPolicy = RetryPolicy()
        /// Request bodies larger than this are refused: the journal keeps bodies whole for replay.
        public var maximumRequestBodySize = 8 * 1024 * 1024
        /// The largest 2xx response body read; a larger one stops at this size with
        /// ``TransportResponse/BodyIssue/tooLarge(limit:)`` (the entry still succeeded).
        public var maximumResponseBodySize = 32 * 1024 * 1024
        /// How many bytes of an error response body each attempt keeps; the rest is not read.
        public var maximumErrorBodySize = ErrorBody.defaultCap
        /// Header names, JSON keys and query parameters to redact beyond the built-in ones
        /// (`X-Customer-Pin`, say). What they name never reaches the disk: request headers, query and
        /// body, response headers and error bodies. A request whose own header, body field or query
        /// parameter is redacted cannot be sent again as it was, so it is never replayed.
        public var redaction = RedactionRules()
        /// Whether a request body's secret-named fields (`password`, `api_key`, …) are kept on disk for
        /// replay. True by default: the journal needs the body whole to replay it (the file is 0600).
        /// False stores them redacted, and such an entry is never replayed: it is sent once, and a
        /// retryable outcome fails it with a note that its secrets were not kept.
        public var keepsSecretBodyFields = true
        /// Where the client logs, at info level at most, with `picus.entry.id`, `picus.entry.uuid`
        /// (the Idempotency-Key), `picus.endpoint` and `http.response.status_code` metadata. It never
        /// logs a token or a body. Default: a disabled logger — pass your own.
        public var logger = Logger.disabled
        /// Where attempts, journal commits and replays are counted and timed (see ``JournalMetrics``
        /// for the names). Default: ``JournalMetrics/system``, whatever `MetricsSystem` is bootstrapped with.
        public var metrics = JournalMetrics.system
        /// The tracer that gets a client span per attempt, with OpenTelemetry's HTTP attributes; every
        /// attempt carries its `traceparent`. Default: the tracer bootstrapped when this configuration
        /// was made (`InstrumentationSystem.tracer`, as AsyncHTTPClient does); nil makes no span, and
        /// an attempt then carries the caller's stored context unchanged.
        public var tracer: (any Tracer)? = InstrumentationSystem.tracer

        /// The default configuration.
        public init() {}

        /// The limits each attempt runs under; an error body is read ``ErrorBody/scrubbingMargin`` past its cap.
        var transportOptions: TransportOptions {
            TransportOptions(timeout: timeout, maximumBodySize: maximumResponseBodySize,
                             maximumErrorBodySize: maximumErrorBodySize + ErrorBody.scrubbingMargin)
        }
    }

    /// The journal every request is written to.
    public var journal: Journal { dispatcher.journal }
    /// The API's base URL.
    public var baseURL: URL { dispatcher.baseURL }
    /// How the client behaves.
    public var configuration: Configuration { dispatcher.configuration }
    /// Sends entries and records their attempts; shared with the replay engine.
    package let dispatcher: Dispatcher

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - journal: Where requests are journaled.
    ///   - baseURL: The API's base URL, such as `https://api.picussecurity.com`.
    ///   - credentials: Supplies access tokens; nil sends no `Authorization` header.
    ///   - transport: How requests reach the network. Default: ``DefaultTransport/shared``,
    ///     AsyncHTTPClient on Linux and URLSession on Apple platforms.
    ///   - configuration: Timeouts, leases, retry policy, limits.
    public init(
        journal: Journal, baseURL: URL, credentials: (any CredentialProvider)? = nil,
        transport: any HTTPTransport = DefaultTransport.shared, configuration: Configuration = Configuration()
    ) {
        dispatcher = Dispatcher(journal: journal, baseURL: baseURL, credentials: credentials, transport: transport,
                                configuration: configuration)
    }

    /// Why `url` cannot be a base URL, or nil when it can. A request's path and query are appended
    /// to it, and its host and port go to the transport as they are: it must be http(s) with a host,
    /// a port from 1 to 65535 if any, no query or fragment (the path would land in them), and no
    /// user or password (credentials come from the ``CredentialProvider``). The text never repeats
    /// the URL, so it cannot leak a password.
    package static func problem(withBaseURL url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "is not an http(s) URL"
        }
        guard let host = url.host, !host.isEmpty else { return "has no host" }
        if url.user != nil || url.password != nil { return "has a user or password in it" }
        if let port = url.port, !(1...65535).contains(port) { return "has the port \(port), not one from 1 to 65535" }
        if url.query != nil { return "has a query: a request's path would land in it" }
        if url.fragment != nil { return "has a fragment: a request's path would land in it" }
        return nil
    }

    /// Journals a request, sends it, records every attempt and returns what became of it.
    ///
    /// The entry keeps the caller's trace context (`ServiceContext.current`), and each attempt is a
    /// client span in it; a later replay continues the same trace.
    ///
    /// - Returns: The delivery, whatever the server answered.
    /// - Throws: ``RequestError`` for a request that cannot be sent (nothing is journaled);
    ///   ``JournalError`` when the journal cannot be written — before the send, nothing left the
    ///   process; after it, the outcome was kept and retried while the lease could be held, and a
    ///   replay takes the entry back.
    public func send(_ request: APIRequest) async throws -> Delivery {
        let now = journal.clock.now()
        var new = try newEntry(for: request, state: .inFlight, at: now)
        new.leaseOwner = try dispatcher.makeLease()
        new.leaseExpiresAt = now.addingTimeInterval(configuration.leaseDuration.timeInterval)
        new.queuesIfHeld = true
        let entry = try await configuration.metrics.timing(.insert) { try await journal.insert(new) }
        // Held back (a 429's reset, a spent budget, outages): journaled, queued, not sent.
        guard entry.state == .inFlight else { return Delivery(entry: entry) }
        return try await dispatcher.deliver(entry, headers: request.headers, body: request.body,
                                            caller: ServiceContext.current ?? .topLevel)
    }

    /// Journals a request without sending it: it waits as `pending` for the replay engine.
    ///
    /// For work that must not be lost but need not go now — a batch written while offline, say.
    ///
    /// - Returns: The journaled entry.
    /// - Throws: ``RequestError`` for a request that cannot be sent or is never replayed; ``JournalError``.
    @discardableResult
    public func enqueue(_ request: APIRequest) async throws -> Entry {
        let new = try newEntry(for: request, state: .pending, at: journal.clock.now())
        guard new.isReplayable else {
            throw RequestError("\(request.method) \(request.pathWithoutQuery) is never replayed, so it cannot wait in the journal; send it instead")
        }
        return try await configuration.metrics.timing(.insert) { try await journal.insert(new) }
    }

    /// The journaled copy of a request: checked, its replayability decided once, its headers
    /// redacted, and its query and body redacted too when it is never replayed (the token exchange
    /// carries secrets).
    private func newEntry(for request: APIRequest, state: EntryState, at now: Date) throws -> NewEntry {
        if let problem = Self.problem(withBaseURL: baseURL) { throw RequestError("the base URL \(problem)") }
        _ = try dispatcher.url(for: request.path)
        if let body = request.body, body.count > configuration.maximumRequestBodySize {
            throw RequestError("the request body is \(body.count) bytes, over the \(configuration.maximumRequestBodySize)-byte limit the journal keeps for replay")
        }
        for name in request.headers.keys where HTTPField.Name(name) == nil {
            throw RequestError("'\(name)' is not a valid header name")
        }
        guard HTTPRequest.Method(request.method) != nil else {
            throw RequestError("'\(request.method)' is not an HTTP method")
        }
        let path = request.pathWithoutQuery
        let rules = configuration.redaction
        var replayable = configuration.retryPolicy.isReplayable(method: request.method, path: path)
        // Headers named like secrets never reach the disk; a request that carried one of its own
        // cannot be sent again as it was, so it is never replayed (the client sets Authorization itself).
        if request.headers.keys.contains(where: { Redactor.isSecretHeader(name: $0, extra: rules.headerNames) }) {
            replayable = false
        }
        // The body and query are kept whole for replay — unless told otherwise, or they hold a name of
        // the user's own rules, which never reaches the disk either. With no rules of one's own and
        // secret fields kept (the defaults), nothing here is parsed.
        if let body = request.body {
            if rules.mayMatch(body), Redactor.body(body, rules: rules) != Redactor.body(body) { replayable = false }
            if !configuration.keepsSecretBodyFields, Redactor.body(body, rules: rules) != body { replayable = false }
        }
        if let query = request.query, !rules.queryParameters.isEmpty, Redactor.query(query, rules: rules) != Redactor.query(query) {
            replayable = false
        }
        let body = replayable ? request.body : request.body.map { Redactor.body($0, rules: rules) }
        let query = replayable ? request.query : request.query.map { Redactor.query($0, rules: rules) }
        let headers = Redactor.headers(request.headers, rules: rules)
        var stored = headers
        if dispatcher.credentials != nil { stored["authorization"] = "Bearer \(Redactor.placeholder)" }
        return NewEntry(
            origin: dispatcher.origin, method: request.method, path: path, query: query,
            headers: stored, body: body, state: state, createdAt: now, isReplayable: replayable,
            traceContext: dispatcher.tracing.callerContext())
    }
}
