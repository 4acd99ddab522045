import Foundation
import Logging

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
        /// How long one attempt may take.
        public var timeout: Duration = .seconds(30)
        /// Which outcomes are replayed, and when.
        public var retryPolicy = RetryPolicy()
        /// Request bodies larger than this are refused: the journal keeps bodies whole for replay.
        public var maximumRequestBodySize = 8 * 1024 * 1024
        /// How many bytes of an error response body each attempt keeps.
        public var maximumErrorBodySize = ErrorBody.defaultCap
        /// Where the client logs. It never logs a token or a body.
        public var logger = Logger(label: "picus.journal.client")

        /// The default configuration.
        public init() {}
    }

    /// The journal every request is written to.
    public let journal: Journal
    /// The API's base URL.
    public let baseURL: URL
    /// How the client behaves.
    public let configuration: Configuration
    private let credentials: (any CredentialProvider)?
    private let transport: any HTTPTransport
    /// Names this client as the lease owner of the entries it is sending.
    package let ownerID: String
    private let origin: String

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - journal: Where requests are journaled.
    ///   - baseURL: The API's base URL, such as `https://api.picussecurity.com`.
    ///   - credentials: Supplies access tokens; nil sends no `Authorization` header.
    ///   - transport: How requests reach the network.
    ///   - configuration: Timeouts, retry policy, limits.
    public init(
        journal: Journal, baseURL: URL, credentials: (any CredentialProvider)? = nil,
        transport: any HTTPTransport = URLSessionTransport(), configuration: Configuration = Configuration()
    ) {
        self.journal = journal
        self.baseURL = baseURL
        self.credentials = credentials
        self.transport = transport
        self.configuration = configuration
        self.origin = Self.origin(of: baseURL)
        self.ownerID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Journals a request, sends it, records every attempt and returns what became of it.
    ///
    /// - Returns: The delivery, whatever the server answered.
    /// - Throws: ``RequestError`` for a request that cannot be sent (nothing is journaled);
    ///   ``JournalError`` when the journal cannot be written — before the send, nothing left the
    ///   process; after it, the entry stays in flight and its lease lets a replay finish it.
    public func send(_ request: APIRequest) async throws -> Delivery {
        let now = Date()
        var new = try newEntry(for: request, state: .inFlight, at: now)
        new.leaseOwner = makeLeaseToken()
        new.leaseExpiresAt = now.addingTimeInterval(leaseDuration.timeInterval)
        let entry = try await journal.insert(new)
        return try await deliver(entry, headers: request.headers, body: request.body)
    }

    /// Journals a request without sending it: it waits as `pending` for the replay engine.
    ///
    /// For work that must not be lost but need not go now — a batch written while offline, say.
    ///
    /// - Returns: The journaled entry.
    /// - Throws: ``RequestError`` for a request that cannot be sent; ``JournalError``.
    @discardableResult
    public func enqueue(_ request: APIRequest) async throws -> Entry {
        guard configuration.retryPolicy.isReplayable(method: request.method, path: request.pathWithoutQuery) else {
            throw RequestError("\(request.method) \(request.pathWithoutQuery) is never replayed, so it cannot wait in the journal; send it instead")
        }
        return try await journal.insert(newEntry(for: request, state: .pending, at: Date()))
    }

    /// The journaled copy of a request: checked, with its headers redacted, and with the query and
    /// body redacted too for a request that is never replayed (the token exchange carries secrets).
    private func newEntry(for request: APIRequest, state: EntryState, at now: Date) throws -> NewEntry {
        _ = try url(for: request.path)
        if let body = request.body, body.count > configuration.maximumRequestBodySize {
            throw RequestError("the request body is \(body.count) bytes, over the \(configuration.maximumRequestBodySize)-byte limit the journal keeps for replay")
        }
        let path = request.pathWithoutQuery
        let replayable = configuration.retryPolicy.isReplayable(method: request.method, path: path)
        var headers = request.headers
        if credentials != nil { headers["Authorization"] = "Bearer \(Redactor.placeholder)" }
        return NewEntry(
            origin: origin, method: request.method, path: path,
            query: replayable ? request.query : request.query.map(Redactor.query),
            headers: Redactor.headers(headers), body: replayable ? request.body : request.body.map(Redactor.body),
            state: state, createdAt: now)
    }

    /// The base URL as journaled: no user or password, no trailing slash.
    private static func origin(of baseURL: URL) -> String {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)
        components?.user = nil
        components?.password = nil
        var text = components?.string ?? baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// A lease token unique to one send or one claim: two senders in one process never share one.
    package func makeLeaseToken() -> String {
        "\(ownerID)/\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// How long a sender holds an entry: long enough for a token exchange and two attempts.
    package var leaseDuration: Duration {
        configuration.timeout * 3 + .seconds(30)
    }

    /// Sends a journaled entry until it succeeds, fails, or is queued, recording every attempt.
    ///
    /// The caller holds the entry's lease. `headers` and `body` are what to send; they may differ
    /// from the journaled (redacted) copy.
    package func deliver(_ entry: Entry, headers: [String: String], body: Data?) async throws -> Delivery {
        let url = try url(for: entry.target)
        let policy = configuration.retryPolicy
        let usesCredentials = credentials != nil && policy.isReplayable(method: entry.method, path: entry.path)
        var number = entry.attemptCount + 1
        var hasRefreshed = false
        let logger = configuration.logger
        let lease = entry.leaseOwner ?? ownerID

        while true {
            var sentHeaders = headers
            sentHeaders["Idempotency-Key"] = entry.uuid.uuidString.lowercased()
            if sentHeaders["Accept"] == nil { sentHeaders["Accept"] = "application/json" }
            if body != nil, sentHeaders["Content-Type"] == nil, sentHeaders["content-type"] == nil {
                sentHeaders["Content-Type"] = "application/json"
            }
            var token: String?
            let startedAt = Date()
            let clock = ContinuousClock()
            let start = clock.now
            if usesCredentials, let credentials {
                do {
                    token = try await credentials.accessToken()
                    sentHeaders["Authorization"] = "Bearer \(token!)"
                } catch {
                    return try await recordCredentialFailure(error, entry: entry, lease: lease, number: number,
                                                             startedAt: startedAt, durationMs: milliseconds(clock.now - start))
                }
            }

            let request = HTTPRequest(method: entry.method, url: url, headers: sentHeaders, body: body,
                                      timeout: configuration.timeout)
            let response: HTTPResponse
            do {
                response = try await transport.send(request)
            } catch {
                let failure = (error as? TransportError) ?? TransportError(.other, String(describing: error))
                let durationMs = milliseconds(clock.now - start)
                let now = Date()
                let decision = policy.decision(for: failure, attemptNumber: number, method: entry.method,
                                               path: entry.path, createdAt: entry.createdAt, now: now)
                let attempt = NewAttempt(
                    number: number, startedAt: startedAt, durationMs: durationMs, transportError: failure,
                    outcome: decision.outcome, responseHeaders: [:])
                let updated = try await recordAfterSend(attempt, entry: entry, lease: lease, then: decision.transition)
                logger.debug("attempt failed", metadata: ["entry.id": "\(entry.id)", "transport.error": "\(failure.kind.rawValue)"])
                return Delivery(entry: updated, transportError: failure)
            }
            let durationMs = milliseconds(clock.now - start)
            let now = Date()
            let error = (200..<300).contains(response.status) ? nil
                : ErrorBody.decode(Self.storableBody(response.body), contentType: response[header: "content-type"],
                                   cap: configuration.maximumErrorBodySize)
            let retryAfterMs = response[header: "retry-after"]
                .flatMap { RetryPolicy.retryAfterDate($0, now: now) }
                .map { max(0, $0.timeIntervalSince(now)) * 1000 }
                .map { Int64($0.rounded()) }
            var attempt = NewAttempt(
                number: number, startedAt: startedAt, durationMs: durationMs, status: response.status,
                outcome: .success, responseHeaders: Redactor.headers(response.headers), error: error,
                retryAfterMs: retryAfterMs,
                rateLimitLimit: response[header: "x-ratelimit-limit"].flatMap { Int($0) },
                rateLimitRemaining: response[header: "x-ratelimit-remaining"].flatMap { Int($0) },
                rateLimitReset: response[header: "x-ratelimit-reset"].flatMap { Int64($0) },
                serverNotBefore: policy.earliestRetry(status: response.status, headers: response.headers, now: now))

            if response.status == 401, usesCredentials, !hasRefreshed, let credentials {
                attempt.outcome = .refresh
                _ = try await recordAfterSend(attempt, entry: entry, lease: lease, then: nil)
                if let token { await credentials.invalidate(token) }
                hasRefreshed = true
                number += 1
                // The inline retry needs the lease for as long again; another sender may have taken it.
                guard try await journal.renewLease(of: entry.id, owner: lease,
                                                   until: Date().addingTimeInterval(leaseDuration.timeInterval)) else {
                    let current = try await journal.entry(id: entry.id) ?? entry
                    return Delivery(entry: current, response: response, error: error)
                }
                logger.debug("401: refreshing the access token", metadata: ["entry.id": "\(entry.id)"])
                continue
            }

            let decision = policy.decision(
                forStatus: response.status, headers: response.headers, attemptNumber: number,
                method: entry.method, path: entry.path, createdAt: entry.createdAt, now: now)
            attempt.outcome = decision.outcome
            let updated = try await recordAfterSend(attempt, entry: entry, lease: lease, then: decision.transition)
            logger.debug("attempt recorded", metadata: ["entry.id": "\(entry.id)", "http.status": "\(response.status)"])
            return Delivery(entry: updated, response: response, error: error)
        }
    }

    /// Records an attempt whose request left the process. When that fails (a full disk), the error
    /// says what is true: the request was sent, and the entry waits in flight for a replay.
    private func recordAfterSend(
        _ attempt: NewAttempt, entry: Entry, lease: String, then transition: EntryTransition?
    ) async throws -> Entry {
        do {
            return try await journal.record(attempt, forEntry: entry.id, leaseOwner: lease, then: transition)
        } catch let error as JournalError {
            let outcome = attempt.status.map { "HTTP \($0)" } ?? attempt.transportError.map { "no response (\($0.kind.rawValue))" } ?? "sent"
            throw JournalError(
                error.code,
                "entry \(entry.id) (\(entry.method) \(entry.redactedTarget)) was sent (\(outcome)) but its outcome could not be journaled: \(error.message); it stays in flight, and a replay after its lease re-sends it with the same Idempotency-Key",
                path: error.path, entryID: entry.id, underlyingError: error)
        }
    }

    private func recordCredentialFailure(
        _ error: any Error, entry: Entry, lease: String, number: Int, startedAt: Date, durationMs: Double
    ) async throws -> Delivery {
        let credentialError = (error as? CredentialError)
            ?? CredentialError(transportError: TransportError(.other, String(describing: error)))
        let failure = TransportError(credentialError.transportError?.kind ?? .auth, credentialError.description)
        let now = Date()
        let policy = configuration.retryPolicy
        let decision: RetryPolicy.Decision = credentialError.isRetryable
            ? policy.retryDecision(
                attemptNumber: number, createdAt: entry.createdAt, now: now,
                serverAsked: credentialError.retryAfter.flatMap { RetryPolicy.retryAfterDate($0, now: now) }
                    .map { min($0, now.addingTimeInterval(policy.longestWait.timeInterval)) },
                random: Double.random(in: 0..<1))
            : .fail
        let serverNotBefore = credentialError.retryAfter.flatMap { RetryPolicy.retryAfterDate($0, now: now) }
        let attempt = NewAttempt(
            number: number, startedAt: startedAt, durationMs: durationMs, transportError: failure,
            outcome: decision.outcome, responseHeaders: [:],
            error: credentialError.body.map { body in
                var body = body
                body.message = "token exchange: \(body.message ?? "HTTP \(credentialError.status ?? 0)")"
                return body
            }, serverNotBefore: serverNotBefore)
        let updated = try await journal.record(attempt, forEntry: entry.id, leaseOwner: lease, then: decision.transition)
        return Delivery(entry: updated, error: attempt.error, transportError: failure)
    }

    private func url(for target: String) throws -> URL {
        guard target.hasPrefix("/") else {
            throw RequestError("the path \(target) must start with /")
        }
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + target), url.host != nil else {
            throw RequestError("\(base + target) is not a valid URL; percent-encode the path and query")
        }
        return url
    }

    /// An error body may echo a token (an auth endpoint's answer): keep it out of the journal.
    private static func storableBody(_ body: Data) -> Data {
        Redactor.body(body)
    }

    private func milliseconds(_ duration: Duration) -> Double {
        duration.timeInterval * 1000
    }
}

extension RetryPolicy.Decision {
    var outcome: Attempt.Outcome {
        switch self {
        case .succeed: .success
        case .fail, .expire: .permanent
        case .retry: .retryable
        }
    }

    var transition: EntryTransition {
        switch self {
        case .succeed: EntryTransition(state: .succeeded)
        case .fail: EntryTransition(state: .failed)
        case .expire: EntryTransition(state: .expired)
        case .retry(let at): EntryTransition(state: .queued, nextAttemptAt: at)
        }
    }
}
