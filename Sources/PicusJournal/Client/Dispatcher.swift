import Foundation
import HTTPTypes
import Logging
import Tracing

/// Sends a journaled entry and records every attempt: the one path that both ``JournaledClient``
/// and the replay engine go through.
///
/// The caller holds the entry's lease; the dispatcher keeps it alive while the attempt is in flight
/// and while its outcome is recorded, and records an outcome patiently when the journal is locked or
/// the disk full: it is never given up while the lease can still be held.
package final class Dispatcher: Sendable {
    package let journal: Journal
    package let baseURL: URL
    package let credentials: (any CredentialProvider)?
    package let transport: any HTTPTransport
    package let configuration: JournaledClient.Configuration
    /// The base URL as journaled: no user or password, no trailing slash.
    package let origin: String
    /// Spans and trace context for every attempt.
    package let tracing: AttemptTracing
    /// The credential provider's way to its token endpoint: this client's transport, tracing and metrics.
    private let tokenExchange: TokenExchange
    /// The matcher of the secrets last held: they change at a token exchange, not at every response.
    private let lastMatcher = LockedValue<(secrets: [String], matcher: SecretMatcher)?>(nil)

    package init(journal: Journal, baseURL: URL, credentials: (any CredentialProvider)?, transport: any HTTPTransport,
                 configuration: JournaledClient.Configuration) {
        self.journal = journal
        self.baseURL = baseURL
        self.credentials = credentials
        self.transport = transport
        self.configuration = configuration
        self.origin = Self.origin(of: baseURL)
        self.tracing = AttemptTracing(tracer: configuration.observability.tracer)
        self.tokenExchange = TokenExchange(transport: transport, timeout: configuration.limits.timeout, clock: journal.clock,
                                           tracing: tracing, metrics: configuration.observability.metrics, logger: configuration.observability.logger)
    }

    private var policy: RetryPolicy { configuration.retryPolicy }
    private var clock: JournalClock { journal.clock }
    private var logger: Logger { configuration.observability.logger }
    private var metrics: JournalMetrics { configuration.observability.metrics }

    /// A lease token unique to one send or one claim, naming this process's liveness lock.
    package func makeLease() throws -> String {
        try journal.ownerLock().owner.newLease()
    }

    /// Keeps the entry's lease alive through the journal's one renewer until the keeper stops.
    private func keep(_ entry: Entry, for duration: Duration?) -> LeaseKeeper {
        journal.leaseRenewer.keep(entry.leaseOwner ?? "", on: entry.id, confirmedUntil: entry.leaseExpiresAt ?? clock.now(),
                                  duration: duration ?? configuration.leases.duration, journal: journal, logger: logger)
    }

    /// Sends `entry` until it succeeds, fails or is queued, recording every attempt.
    ///
    /// - Parameters:
    ///   - entry: The entry, leased to `entry.leaseOwner` by the caller.
    ///   - headers: The header fields to send; they may differ from the journaled (redacted) copy.
    ///   - body: The body to send.
    ///   - caller: The live caller's trace context, parent of each attempt's span; nil for a replay,
    ///     which continues the entry's stored context and links to the replayer's.
    ///   - next: A replay worker's claim of its next entry, offered to every record of this entry;
    ///     it claims in the one that records a final outcome that is not an outage.
    ///   - leaseDuration: How long the lease is renewed for at a time; nil for the client's.
    package func deliver(
        _ entry: Entry, headers: [String: String], body: Data?, caller: ServiceContext?, claimingNext next: NextClaim? = nil,
        leaseDuration: Duration? = nil
    ) async throws -> Delivery {
        let lease = entry.leaseOwner ?? ""
        let keeper = keep(entry, for: leaseDuration)
        defer { keeper.stop() }
        do {
            return try await attempt(entry, headers: headers, body: body, caller: caller, keeper: keeper, next: next)
        } catch {
            // Whatever stopped this sender before its outcome was recorded, it lets go of the entry in
            // words: the next replay takes it back at once instead of waiting for this process to end.
            if !keeper.isLost, !(error is NoteLeft) {
                _ = try? journal.ownerLock().leaveNote(OwnerLock.Note(status: nil, reason: "the sender failed: \(error)"), forLease: lease)
            }
            throw (error as? NoteLeft)?.error ?? error
        }
    }

    /// Ends a claimed entry without sending it, because the sender's own policy never replays its
    /// endpoint: one history line says why, and the entry fails.
    ///
    /// - Parameters:
    ///   - entry: The entry, leased to `entry.leaseOwner` by the caller.
    ///   - next: A replay worker's claim of its next entry, taken in the same transaction.
    package func decline(_ entry: Entry, claimingNext next: NextClaim? = nil, leaseDuration: Duration? = nil) async throws -> Delivery {
        let keeper = keep(entry, for: leaseDuration)
        defer { keeper.stop() }
        let failure = TransportError(.notReplayed, """
            not replayed: the replayer's retry policy never replays \(entry.method) \(entry.path), \
            though the policy it was written under did
            """, phase: .beforeSending)
        metrics.attempt(endpoint: entry.endpoint, outcome: .permanent, status: nil, transportError: failure.kind, duration: .zero)
        let attempt = NewAttempt(number: entry.attemptCount + 1, startedAt: clock.now(), durationMs: 0, transportError: failure,
                                 outcome: .permanent, responseHeaders: [:])
        let updated = try await recordPatiently(attempt, entry: entry, keeper: keeper, then: RetryPolicy.Decision.fail.transition, next: next)
        return Delivery(entry: updated, transportError: failure)
    }

    /// An error after which the sender already left its note.
    private struct NoteLeft: Error {
        let error: any Error
    }

    private func attempt(
        _ entry: Entry, headers: [String: String], body: Data?, caller: ServiceContext?, keeper: LeaseKeeper, next: NextClaim?
    ) async throws -> Delivery {
        let usesCredentials = credentials != nil && !RetryPolicy.tokenExchange.contains(RetryPolicy.Endpoint(entry.method, entry.path))
        var number = entry.attemptCount + 1
        var hasRefreshed = false
        while true {
            let startedAt = clock.now()
            let stopwatch = ContinuousClock()
            let start = stopwatch.now
            var token: String?
            if usesCredentials, let credentials {
                do {
                    token = try await credentials.accessToken(through: tokenExchange)
                } catch {
                    return try await recordCredentialFailure(error, entry: entry, keeper: keeper, number: number,
                                                             startedAt: startedAt, durationMs: (stopwatch.now - start).timeInterval * 1000, next: next)
                }
            }
            var request = try makeRequest(for: entry, headers: headers, hasBody: body != nil, token: token)
            let span = tracing.startSpan(for: entry, caller: caller, number: number, request: request)
            tracing.inject(span, stored: entry.traceContext, into: &request.headerFields)
            let response: TransportResponse
            do {
                response = try await transport.send(request, body: body, options: configuration.transportOptions)
            } catch {
                let failure = (error as? TransportError) ?? TransportError(.other, String(describing: error))
                tracing.end(span, failure: failure)
                let decision = decide(policy.decision(for: failure, attemptNumber: number, method: entry.method,
                                                      path: entry.path, createdAt: entry.createdAt, now: clock.now()), for: entry)
                let duration = stopwatch.now - start
                metrics.attempt(endpoint: entry.endpoint, outcome: decision.outcome, status: nil, transportError: failure.kind, duration: duration)
                let attempt = NewAttempt(number: number, startedAt: startedAt, durationMs: duration.timeInterval * 1000,
                                         transportError: failure, outcome: decision.outcome, responseHeaders: [:])
                let updated = try await recordPatiently(attempt, entry: entry, keeper: keeper, then: decision.transition, next: next)
                logger.debug("attempt failed", metadata: entry.logMetadata.merging(["picus.transport_error": "\(failure.kind.rawValue)"]) { $1 })
                return Delivery(entry: updated, transportError: failure)
            }
            let now = clock.now()
            let observation = ResponseObservation(response, policy: policy, scrubbing: await secretMatcher(besides: token),
                                                  rules: configuration.redaction,
                                                  errorBodyCap: configuration.limits.maximumErrorBodySize, now: now)
            let duration = stopwatch.now - start
            let durationMs = duration.timeInterval * 1000
            tracing.end(span, status: observation.status)

            if StatusCode(observation.status).disposition == .refreshThenPermanent, usesCredentials, !hasRefreshed, let credentials {
                metrics.attempt(endpoint: entry.endpoint, outcome: .refresh, status: observation.status, transportError: nil, duration: duration)
                let attempt = observation.attempt(number: number, startedAt: startedAt, durationMs: durationMs, outcome: .refresh)
                let updated = try await recordPatiently(attempt, entry: entry, keeper: keeper, then: nil)
                if let token { await credentials.invalidate(token) }
                hasRefreshed = true
                number += 1
                // Another sender took the entry: its state is theirs to decide now.
                guard !keeper.isLost else { return Delivery(entry: updated, response: response, error: observation.error) }
                logger.debug("401: refreshing the access token", metadata: entry.logMetadata)
                continue
            }

            let decision = decide(policy.decision(
                forStatus: observation.status, timing: observation.timing, attemptNumber: number,
                method: entry.method, path: entry.path, createdAt: entry.createdAt, now: now), for: entry)
            metrics.attempt(endpoint: entry.endpoint, outcome: decision.outcome, status: observation.status, transportError: nil, duration: duration)
            let attempt = observation.attempt(number: number, startedAt: startedAt, durationMs: durationMs, outcome: decision.outcome)
            let updated = try await recordPatiently(attempt, entry: entry, keeper: keeper, then: decision.transition, next: next)
            logger.debug("attempt recorded", metadata: entry.logMetadata.merging(["http.response.status_code": "\(observation.status)"]) { $1 })
            return Delivery(entry: updated, response: response, error: observation.error)
        }
    }

    /// Finds every secret a server might echo: the token just sent, every token the provider held,
    /// the base URL's password.
    private func secretMatcher(besides token: String?) async -> SecretMatcher {
        var secrets = await credentials?.heldSecrets() ?? []
        if let token { secrets.append(token) }
        if let password = baseURL.password(percentEncoded: false), !password.isEmpty { secrets.append(password) }
        return lastMatcher.withLock { last in
            if let last, last.secrets == secrets { return last.matcher }
            let matcher = SecretMatcher(secrets)
            last = (secrets, matcher)
            return matcher
        }
    }

    /// The policy's decision, except that an entry written as never replayed is never queued.
    private func decide(_ decision: RetryPolicy.Decision, for entry: Entry) -> RetryPolicy.Decision {
        if case .retry = decision, !entry.isReplayable { return .fail }
        return decision
    }

    /// The request on the wire: the entry's target on the base URL, its headers, the Idempotency-Key and the token.
    private func makeRequest(for entry: Entry, headers: [String: String], hasBody: Bool, token: String?) throws -> HTTPRequest {
        guard let method = HTTPRequest.Method(entry.method) else {
            throw RequestError("\(entry.method) is not an HTTP method")
        }
        var fields = HTTPFields()
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            guard let name = HTTPField.Name(name) else { throw RequestError("'\(name)' is not a valid header name") }
            fields[name] = value
        }
        fields[HTTPField.Name("Idempotency-Key")!] = entry.uuid.uuidString.lowercased()
        if fields[.accept] == nil { fields[.accept] = "application/json" }
        if hasBody, fields[.contentType] == nil { fields[.contentType] = "application/json" }
        if let token { fields[.authorization] = "Bearer \(token)" }
        return HTTPRequest(method: method, url: try url(for: entry.target), headerFields: fields)
    }

    /// Records an attempt whose request may have left the process.
    ///
    /// A write that fails for a passing reason (the journal locked past its busy timeout, a full disk)
    /// is retried with backoff while the lease is held: the outcome waits in memory. When the lease can
    /// no longer be confirmed, the sender lets go only once it has left a synced note beside the journal,
    /// in space reserved when its lock file was made, so that the writer who takes the entry back
    /// records what happened. A 2xx is never let go without that note: the sender keeps the entry,
    /// and its process — alive, so its leases are never taken back — keeps trying, for a 2xx sent
    /// again would reach the server twice.
    private func recordPatiently(
        _ attempt: NewAttempt, entry: Entry, keeper: LeaseKeeper, then transition: EntryTransition?, next: NextClaim? = nil
    ) async throws -> Entry {
        var delay: Duration = .milliseconds(50)
        var hasWarned = false
        while true {
            do {
                return try await metrics.timing(.record) {
                    try await journal.record(attempt, forEntry: entry.id, leaseOwner: keeper.lease, then: transition, base: entry,
                                             claimingNext: next)
                }
            } catch let error as JournalError where error.code == .busy || error.code == .diskFull {
                // Passing: keep the outcome in memory and try again while the lease holds.
                let reason = error.code == .busy ? "the journal was locked by another process" : "the disk was full"
                let outcome = attempt.status.map { "HTTP \($0)" }
                    ?? attempt.transportError.map { "no response (\($0.kind.rawValue))" } ?? "sent"
                if keeper.isLost {
                    // Another sender holds the entry now: this outcome is not this sender's to record.
                    throw NoteLeft(error: JournalError(
                        error.code, "entry \(entry.id) was taken over by another sender before its outcome (\(outcome)) could be recorded: \(reason)",
                        path: error.path, entryID: entry.id, underlyingError: error))
                }
                if !keeper.isHeld(at: clock.now()) {
                    let isNoted = (try? journal.ownerLock().leaveNote(OwnerLock.Note(status: attempt.status, reason: reason),
                                                                     forLease: keeper.lease)) ?? false
                    let isSuccess = attempt.status.map { (200..<300).contains($0) } ?? false
                    if isNoted || !isSuccess {
                        throw NoteLeft(error: JournalError(
                            error.code,
                            "entry \(entry.id) (\(entry.method) \(entry.redactedTarget)) was sent (\(outcome)) but its outcome could not be recorded: \(reason); the next replay records it (a 2xx) or re-sends it with the same Idempotency-Key",
                            path: error.path, entryID: entry.id, underlyingError: error))
                    }
                    if !hasWarned {
                        hasWarned = true
                        logger.warning("a 2xx could not be recorded nor noted; keeping the entry until it can be", metadata: entry.logMetadata.merging(["picus.reason": "\(reason)"]) { $1 })
                    }
                }
                logger.info("outcome not recorded yet; retrying", metadata: entry.logMetadata.merging(["picus.reason": "\(reason)"]) { $1 })
                // Not the caller's task: a cancelled sender still waits before it writes again.
                let pause = delay
                await Task { try? await Task.sleep(for: pause) }.value
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    private func recordCredentialFailure(
        _ error: any Error, entry: Entry, keeper: LeaseKeeper, number: Int, startedAt: Date, durationMs: Double, next: NextClaim?
    ) async throws -> Delivery {
        let credentialError = (error as? CredentialError)
            ?? CredentialError(transportError: TransportError(.other, String(describing: error)))
        let failure = TransportError(credentialError.transportError?.kind ?? .auth, credentialError.description, phase: .beforeSending)
        let now = clock.now()
        let serverNotBefore = credentialError.retryAfter.flatMap { retryAfter in
            ServerTiming(status: credentialError.status ?? 0, headers: ["retry-after": retryAfter], longestWait: policy.longestWait, now: now)
                .retryAfter
        }
        let entryPolicy = policy.resolved(method: entry.method, path: entry.path)
        let decision = decide(entryPolicy.retriesTokenExchange(status: credentialError.status, transportError: credentialError.transportError) && entryPolicy.isReplayable(method: entry.method, path: entry.path)
            ? entryPolicy.retryDecision(attemptNumber: number, createdAt: entry.createdAt, now: now,
                                   serverAsked: serverNotBefore, random: Double.random(in: 0..<1))
            : .fail, for: entry)
        let attempt = NewAttempt(
            number: number, startedAt: startedAt, durationMs: durationMs, transportError: failure,
            outcome: decision.outcome, responseHeaders: [:],
            error: credentialError.body.map { body in
                var body = body
                body.message = "token exchange: \(body.message ?? "HTTP \(credentialError.status ?? 0)")"
                return body
            }, serverNotBefore: serverNotBefore)
        let updated = try await recordPatiently(attempt, entry: entry, keeper: keeper, then: decision.transition, next: next)
        return Delivery(entry: updated, error: attempt.error, transportError: failure)
    }

    /// The absolute URL of a path and query on the base URL.
    package func url(for target: String) throws -> URL {
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

    private static func origin(of baseURL: URL) -> String {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)
        components?.user = nil
        components?.password = nil
        var text = components?.string ?? baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
