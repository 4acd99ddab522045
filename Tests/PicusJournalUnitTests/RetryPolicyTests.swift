import Foundation
import PicusJournal
import Testing
import PicusJournalTesting

struct RetryPolicyTests {
    let created = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { created.addingTimeInterval(10) }

    private func retryTime(_ decision: RetryPolicy.Decision) -> Date? {
        if case .retry(let at) = decision { return at }
        return nil
    }

    @Test(arguments: [408, 429, 503, 504])
    func retriesTheStatusesPicusCallsTemporary(status: Int) {
        let decision = RetryPolicy().decision(forStatus: status, headers: [:], attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 0.5)
        #expect(retryTime(decision) != nil)
    }

    @Test(arguments: [400, 401, 402, 403, 404, 410, 422, 500])
    func failsThePermanentStatuses(status: Int) {
        let decision = RetryPolicy().decision(forStatus: status, headers: [:], attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 0.5)
        #expect(decision == .fail)
    }

    @Test func retries500OnlyWhenConfigured() {
        var policy = RetryPolicy()
        policy.retryableStatuses.insert(500)
        let decision = policy.decision(forStatus: 500, headers: [:], attemptNumber: 1, method: "GET", path: "/v1/agents",
                                       createdAt: created, now: now, random: 0.5)
        #expect(retryTime(decision) != nil)
    }

    @Test(arguments: TransportError.Kind.allCases)
    func retriesTheTransportFailuresThatMayPassBeforeTheRequestLeft(kind: TransportError.Kind) {
        let decision = RetryPolicy().decision(for: TransportError(kind, "x", phase: .beforeSending), attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 0.5)
        let retryable: Set<TransportError.Kind> = [.offline, .refused, .reset, .timeout, .dns, .cancelled, .abandoned]
        #expect((retryTime(decision) != nil) == retryable.contains(kind))
    }

    @Test(arguments: TransportError.Kind.allCases)
    func neverWritesOffAnUnknownOutcomeAsPermanent(kind: TransportError.Kind) {
        let failure = TransportError(kind, "x", phase: .afterSending)
        let decision = RetryPolicy().decision(for: failure, attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 0.5)
        #expect(retryTime(decision) != nil)
        #expect(failure.historyMessage.hasPrefix("outcome unknown"))
    }

    @Test func neverReplaysTheTokenEndpoints() {
        for path in ["/v1/auth/token", "/v1/auth/refresh"] {
            let decision = RetryPolicy().decision(forStatus: 503, headers: [:], attemptNumber: 1, method: "POST", path: path,
                                                  createdAt: created, now: now, random: 0.5)
            #expect(decision == .fail)
        }
    }

    @Test func fullJitterStaysBetweenZeroAndTheCappedExponential() {
        let policy = RetryPolicy()
        #expect(policy.backoff(afterAttempt: 1, random: 0) == .zero)
        #expect(policy.backoff(afterAttempt: 1, random: 1) == .seconds(1))
        #expect(policy.backoff(afterAttempt: 4, random: 1) == .seconds(8))
        #expect(policy.backoff(afterAttempt: 4, random: 0.5) == .seconds(4))
        #expect(policy.backoff(afterAttempt: 30, random: 1) == .seconds(600))
    }

    @Test func obeysRetryAfterInSeconds() throws {
        let decision = RetryPolicy().decision(forStatus: 503, headers: ["retry-after": "120"], attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 1)
        #expect(try #require(retryTime(decision)) == now.addingTimeInterval(120))
    }

    @Test func obeysRetryAfterAsAnHTTPDate() throws {
        let asked = Date(timeIntervalSince1970: 1_800_000_300)
        let header = "Fri, 15 Jan 2027 08:05:00 GMT"
        #expect(ServerTiming.retryAfterDate(header, now: now) == asked)
        let decision = RetryPolicy().decision(forStatus: 429, headers: ["retry-after": header], attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 1)
        #expect(try #require(retryTime(decision)) == asked)
    }

    @Test func readsTheObsoleteHTTPDateForms() {
        let asked = Date(timeIntervalSince1970: 1_800_000_300)
        #expect(ServerTiming.retryAfterDate("Friday, 15-Jan-27 08:05:00 GMT", now: now) == asked)
        #expect(ServerTiming.retryAfterDate("Fri Jan 15 08:05:00 2027", now: now) == asked)
        #expect(ServerTiming.retryAfterDate("soon", now: now) == nil)
    }

    @Test func usesTheRateLimitResetOnA429WithoutRetryAfter() throws {
        let headers = ["x-ratelimit-reset": "1800000060", "x-ratelimit-remaining": "0"]
        let decision = RetryPolicy().decision(forStatus: 429, headers: headers, attemptNumber: 1, method: "GET",
                                              path: "/v1/agents", createdAt: created, now: now, random: 1)
        #expect(try #require(retryTime(decision)) == Date(timeIntervalSince1970: 1_800_000_060))
        #expect(RetryPolicy().earliestRetry(status: 503, headers: headers, now: now) == nil)
    }

    @Test func neverRetriesEarlierThanTheServerAskedWhateverTheJitter() throws {
        for attempt in 1...9 {
            for random in stride(from: 0.0, through: 1.0, by: 0.1) {
                let decision = RetryPolicy().decision(forStatus: 503, headers: ["retry-after": "7"], attemptNumber: attempt,
                                                      method: "GET", path: "/v1/agents", createdAt: created, now: now, random: random)
                #expect(try #require(retryTime(decision)) >= now.addingTimeInterval(7))
            }
        }
    }

    @Test func clampsAServerAskLongerThanTheLongestWait() throws {
        var policy = RetryPolicy()
        policy.longestWait = .seconds(3600)
        let decision = policy.decision(forStatus: 503, headers: ["retry-after": "999999"], attemptNumber: 1, method: "GET",
                                       path: "/v1/agents", createdAt: created, now: now, random: 0)
        #expect(try #require(retryTime(decision)) == now.addingTimeInterval(3600))
    }

    @Test func expiresAfterTheMaximumAttempts() {
        let policy = RetryPolicy()
        #expect(retryTime(policy.decision(forStatus: 503, headers: [:], attemptNumber: 9, method: "GET", path: "/v1/agents",
                                          createdAt: created, now: now, random: 0.5)) != nil)
        #expect(policy.decision(forStatus: 503, headers: [:], attemptNumber: 10, method: "GET", path: "/v1/agents",
                                createdAt: created, now: now, random: 0.5) == .expire)
    }

    @Test func expiresAfterTheMaximumAge() {
        let policy = RetryPolicy()
        let old = now.addingTimeInterval(-7 * 86_400)
        #expect(policy.decision(forStatus: 503, headers: [:], attemptNumber: 2, method: "GET", path: "/v1/agents",
                                createdAt: old, now: now, random: 0.5) == .expire)
    }
}

struct RetryPolicyOverrideTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func overridesApplyByMethodAndPathAndLaterOnesWin() {
        var policy = RetryPolicy()
        policy.overrides = [
            .init(method: "POST", path: "/v1/simulations", retryableStatuses: [500, 503]),
            .init(path: "/v1/templates/*", maximumAttempts: 2),
            .init(path: "/v1/templates/7", maximumAttempts: 5),
            .init(method: "DELETE", path: "/v1/*", isReplayable: false),
        ]
        func decide(_ status: Int, _ method: String, _ path: String, attempt: Int = 1) -> RetryPolicy.Decision {
            policy.decision(forStatus: status, headers: [:], attemptNumber: attempt, method: method, path: path,
                            createdAt: now, now: now, random: 0)
        }
        #expect(decide(500, "POST", "/v1/simulations") == .retry(at: now))
        #expect(decide(500, "GET", "/v1/simulations") == .fail)
        #expect(decide(504, "POST", "/v1/simulations") == .fail)
        #expect(decide(503, "GET", "/v1/templates/3", attempt: 2) == .expire)
        #expect(decide(503, "GET", "/v1/templates/7", attempt: 2) == .retry(at: now))
        #expect(decide(503, "DELETE", "/v1/integrations/1") == .fail)
        #expect(!policy.isReplayable(method: "DELETE", path: "/v1/agents/1"))
        #expect(policy.isReplayable(method: "GET", path: "/v1/agents/1"))
        #expect(policy.decision(for: TransportError(.refused, "x"), attemptNumber: 1, method: "DELETE", path: "/v1/x",
                                createdAt: now, now: now, random: 0) == .fail)
    }

    @Test(arguments: ["99999999999", "99999999999999999999999999", HTTPDate.string(from: Date(timeIntervalSince1970: 32_503_680_000))])
    func aServerTimeBeyondTheLongestWaitIsClampedToIt(retryAfter: String) {
        let policy = RetryPolicy()
        let asked = policy.earliestRetry(status: 503, headers: ["retry-after": retryAfter], now: now)
        #expect(asked == now.addingTimeInterval(policy.longestWait.timeInterval))
    }

    @Test func aRateLimitResetBeyondTheLongestWaitIsClampedAndANegativeOneIgnored() {
        let policy = RetryPolicy()
        #expect(policy.earliestRetry(status: 429, headers: ["x-ratelimit-reset": "1e300"], now: now)
                == now.addingTimeInterval(policy.longestWait.timeInterval))
        #expect(policy.earliestRetry(status: 429, headers: ["x-ratelimit-reset": "-5"], now: now) == nil)
        #expect(policy.earliestRetry(status: 503, headers: ["retry-after": "-5"], now: now) == nil)
        #expect(policy.earliestRetry(status: 503, headers: ["retry-after": "soon"], now: now) == nil)
    }
}
