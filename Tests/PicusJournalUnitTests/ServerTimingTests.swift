import Foundation
import PicusJournal
import Testing

/// A response's times, read once and clamped once to the policy's longest wait.
struct ServerTimingTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let day = Duration.seconds(86_400)

    @Test func retryAfterInEitherFormIsTheEarliestRetryAndIsClamped() {
        let delta = ServerTiming(status: 503, headers: ["retry-after": "30"], longestWait: day, now: now)
        #expect(delta.retryAfter == now.addingTimeInterval(30))
        #expect(delta.earliestRetry == now.addingTimeInterval(30))
        #expect(delta.retryAfterMilliseconds(from: now) == 30_000)

        let huge = ServerTiming(status: 503, headers: ["retry-after": String(repeating: "9", count: 40)], longestWait: day, now: now)
        #expect(huge.earliestRetry == now.addingTimeInterval(86_400))
        #expect(huge.retryAfterMilliseconds(from: now) == 86_400_000)

        let past = ServerTiming(status: 503, headers: ["retry-after": "Thu, 01 Jan 2026 00:00:00 GMT"], longestWait: day, now: now)
        #expect(past.retryAfterMilliseconds(from: now) == 0)
        #expect(ServerTiming(status: 503, headers: ["retry-after": "-5"], longestWait: day, now: now).retryAfter == nil)
    }

    @Test func aResetIsTheRetryTimeOnlyOfA429() {
        let headers = ["x-ratelimit-reset": "1800000120", "x-ratelimit-remaining": "0", "x-ratelimit-limit": "100"]
        let limited = ServerTiming(status: 429, headers: headers, longestWait: day, now: now)
        #expect(limited.earliestRetry == now.addingTimeInterval(120))
        #expect(limited.budget == ServerTiming.Budget(remaining: 0, resetAt: now.addingTimeInterval(120), windowLimit: 100))
        let fine = ServerTiming(status: 200, headers: headers, longestWait: day, now: now)
        #expect(fine.earliestRetry == nil)
        #expect(fine.budget?.remaining == 0)
    }

    @Test func aBudgetPastTheLongestWaitIsClampedButTheRecordedResetIsNot() {
        let farReset = "\(1_800_000_000 + 10 * 86_400)"
        let timing = ServerTiming(status: 429, headers: ["x-ratelimit-reset": farReset, "x-ratelimit-remaining": "-3"],
                                  longestWait: day, now: now)
        #expect(timing.rateLimitReset == now.addingTimeInterval(10 * 86_400))
        #expect(timing.budget?.resetAt == now.addingTimeInterval(86_400))
        #expect(timing.budget?.remaining == 0)
        #expect(timing.earliestRetry == now.addingTimeInterval(86_400))
    }

    @Test func thePolicysDecisionReadsTheSameTiming() {
        let headers = ["retry-after": "120"]
        let timing = ServerTiming(status: 503, headers: headers, longestWait: RetryPolicy().longestWait, now: now)
        let fromHeaders = RetryPolicy().decision(forStatus: 503, headers: headers, attemptNumber: 1, method: "GET", path: "/v1/agents",
                                                 createdAt: now, now: now, random: 0)
        let fromTiming = RetryPolicy().decision(forStatus: 503, timing: timing, attemptNumber: 1, method: "GET", path: "/v1/agents",
                                                createdAt: now, now: now, random: 0)
        #expect(fromHeaders == fromTiming)
        #expect(fromTiming == .retry(at: now.addingTimeInterval(120)))
    }
}
