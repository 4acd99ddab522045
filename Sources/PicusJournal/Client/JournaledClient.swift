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
        new.leaseExpiresAt = now.addingTimeInterval(configuration.leases.duration.timeInterval)
        new.queuesIfHeld = true
        let entry = try await configuration.observability.metrics.timing(.insert) { try await journal.insert(new) }
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
        return try await configuration.observability.metrics.timing(.insert) { try await journal.insert(new) }
    }

    /// The journaled copy of a request: checked, its replayability decided once, its headers
    /// redacted, and its query and body redacted too when it is never replayed (the token exchange
    /// carries secrets).
    private func newEntry(for request: APIRequest, state: EntryState, at now: Date) throws -> NewEntry {
        if let problem = Self.problem(withBaseURL: baseURL) { throw RequestError("the base URL \(problem)") }
        _ = try dispatcher.url(for: request.path)
        if let body = request.body, body.count > configuration.limits.maximumRequestBodySize {
            throw RequestError("the request body is \(body.count) bytes, over the \(configuration.limits.maximumRequestBodySize)-byte limit the journal keeps for replay")
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
