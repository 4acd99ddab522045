import Foundation
import HTTPTypes
import PicusJournal

/// The code that reads a server's bytes, driven by arbitrary input, with the properties it must keep.
///
/// The libFuzzer target (`picus-journal-fuzz`) calls ``check(_:)`` on every input and stops at the
/// first violation; the test suite runs the committed seed corpus (`Fuzz/corpus/`) through it.
public enum Fuzzing {
    /// Feeds `data` to the error-body decoder, the `Retry-After` and `X-Ratelimit-*` parsers, the
    /// response observation and the redactor; returns every property that failed (empty: all held).
    public static func check(_ data: Data) -> [String] {
        var violations: [String] = []
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let policy = RetryPolicy()
        let latest = now.addingTimeInterval(policy.longestWait.timeInterval)
        let text = String(decoding: data.prefix(4096), as: UTF8.self)

        // The decoder never fails, keeps at most its cap, and says how long the body was.
        for contentType in ["application/json", "text/html", nil] {
            let body = ErrorBody.decode(data, contentType: contentType, cap: 1024)
            if body.raw.count > 1024 { violations.append("the decoder kept \(body.raw.count) bytes past its 1024-byte cap") }
            if body.size != data.count { violations.append("the decoder reported size \(body.size) for \(data.count) bytes") }
        }

        // The server's times are clamped to the longest wait, in every form, and never before now for a delta.
        for name in ["retry-after", "x-ratelimit-reset"] {
            if let asked = policy.earliestRetry(status: 429, headers: [name: text], now: now), asked > latest {
                violations.append("\(name) '\(text.prefix(40))' was not clamped: \(asked)")
            }
        }
        if text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), !text.isEmpty,
            let asked = ServerTiming.retryAfterDate(text, now: now), asked < now
        {
            violations.append("a delta-seconds Retry-After '\(text.prefix(40))' went back in time")
        }

        // A response carrying the input as header values and body is observed without a crash, its
        // stored retry-after within the longest wait.
        var fields = HTTPFields()
        for name in ["Retry-After", "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "Content-Type"] {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: text))
        }
        let response = TransportResponse(head: HTTPResponse(status: .init(code: 429), headerFields: fields), body: data)
        let attempt = ResponseObservation(response, policy: policy, now: now)
            .attempt(number: 1, startedAt: now, durationMs: 1, outcome: .retryable)
        if let wait = attempt.retryAfterMs, wait > Int64(policy.longestWait.timeInterval * 1000) {
            violations.append("a stored Retry-After of \(wait) ms exceeds the longest wait")
        }

        // Redaction is idempotent, and a secret that was scrubbed is gone.
        let once = Redactor.body(data)
        if Redactor.body(once) != once { violations.append("redacting a redacted body changed it again") }
        let query = Redactor.query(text)
        if Redactor.query(query) != query { violations.append("redacting a redacted query changed it again") }
        let secret = "fuzz-secret-token-0123456789"
        if Redactor.scrub(data + Data(secret.utf8) + data, secrets: [secret]).range(of: Data(secret.utf8)) != nil {
            violations.append("a scrubbed secret survived")
        }

        // Text for a terminal carries no control character.
        let shown = text.escapingControlCharacters
        if shown.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            violations.append("a control character reached terminal text")
        }
        return violations
    }
}
