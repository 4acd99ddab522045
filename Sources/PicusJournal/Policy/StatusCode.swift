/// An HTTP status code as the Picus REST API documents it: its name, its meaning and what a client
/// should do about it by default.
///
/// Every code of Picus's response-codes page is known by name. Any other code still works: its
/// disposition follows from its class (2xx success, everything else permanent).
///
/// ```swift
/// let status = StatusCode(422)
/// status.name           // "UNPROCESSABLE ENTITY"
/// status.disposition    // .permanent
/// ```
public struct StatusCode: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// What a client does with a response of this status, unless its retry policy says otherwise.
    public enum Disposition: String, Sendable, CaseIterable {
        /// The request succeeded.
        case success
        /// Sending the same request again gives the same answer: record it and stop.
        case permanent
        /// The server said "not now": queue the request and replay it later.
        case retryable
        /// Refresh the access token once and retry inline; if that fails too, permanent.
        case refreshThenPermanent
    }

    /// The numeric code.
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The status with this numeric code.
    public init(_ code: Int) { self.rawValue = code }
    /// A status code written as a number: `let code: StatusCode = 429`.
    public init(integerLiteral value: Int) { self.rawValue = value }

    /// Orders codes by number.
    public static func < (lhs: StatusCode, rhs: StatusCode) -> Bool { lhs.rawValue < rhs.rawValue }

    private struct Documentation {
        let name: String
        let meaning: String
        let disposition: Disposition
    }

    // From Picus's response-codes page, word for word where it says something.
    private static let documented: [Int: Documentation] = [
        200: .init(name: "OK", meaning: "The request has succeeded. You can read response and headers.", disposition: .success),
        201: .init(name: "CREATED", meaning: "The new resource is created successfully.", disposition: .success),
        204: .init(name: "NO CONTENT", meaning: "The request has succeeded but there is no content.", disposition: .success),
        400: .init(name: "BAD REQUEST", meaning: "The request could not be understood by the server due to malformed syntax.", disposition: .permanent),
        401: .init(name: "UNAUTHORIZED", meaning: "The request requires to authentication. If the request includes authorization information, authorization has been refused for those credentials.", disposition: .refreshThenPermanent),
        402: .init(name: "PAYMENT REQUIRED", meaning: "The requested resource has reached out limitation. You can try it later or removing existing resources. Also you can contact with the support.", disposition: .permanent),
        403: .init(name: "FORBIDDEN", meaning: "Authorization information is correct but you do not have permission to access this resource.", disposition: .permanent),
        404: .init(name: "NOT FOUND", meaning: "The requested resource is not found.", disposition: .permanent),
        408: .init(name: "REQUEST TIMEOUT", meaning: "No response within the given time.", disposition: .retryable),
        410: .init(name: "GONE", meaning: "The endpoint is deprecated and no longer served.", disposition: .permanent),
        422: .init(name: "UNPROCESSABLE ENTITY", meaning: "The request contains invalid parameter. The parameter contains validation error.", disposition: .permanent),
        429: .init(name: "TOO MANY REQUEST", meaning: "The rate limit is applied.", disposition: .retryable),
        500: .init(name: "INTERNAL SERVER ERROR", meaning: "There is a problem, please contact Picus support.", disposition: .permanent),
        503: .init(name: "SERVICE UNAVAILABLE", meaning: "The service is not giving a response, please contact Picus support.", disposition: .retryable),
        504: .init(name: "GATEWAY TIMEOUT", meaning: "The gateway did not get a response in time, please contact Picus support.", disposition: .retryable),
    ]

    /// Every status code the Picus API documents, ascending.
    public static let documentedCodes: [StatusCode] = documented.keys.sorted().map { StatusCode($0) }

    /// Whether Picus's documentation names this code.
    public var isDocumented: Bool { Self.documented[rawValue] != nil }

    /// The documented name (`"UNPROCESSABLE ENTITY"`), or `"HTTP 599"` for an undocumented code.
    public var name: String { Self.documented[rawValue]?.name ?? "HTTP \(rawValue)" }

    /// What Picus says the code means, or a generic sentence for an undocumented code.
    public var meaning: String {
        if let documentation = Self.documented[rawValue] { return documentation.meaning }
        switch rawValue {
        case 200..<300: return "The request has succeeded."
        case 300..<400: return "The server redirected the request."
        case 400..<500: return "The server refused the request."
        default: return "The server failed to answer the request."
        }
    }

    /// What a client does with this status by default.
    public var disposition: Disposition {
        if let documentation = Self.documented[rawValue] { return documentation.disposition }
        return (200..<300).contains(rawValue) ? .success : .permanent
    }

    /// Whether the code is in the 2xx range.
    public var isSuccess: Bool { (200..<300).contains(rawValue) }

    /// Whether the answer means the service itself is down (503), not one request refused: the replay
    /// engine counts these toward holding back the whole host.
    public var signalsOutage: Bool { rawValue == 503 }

    /// An outage, as the replayer counts them: a 503, or no answer for a reason other than
    /// credentials or policy.
    package static func isOutage(status: Int?, transportError: TransportError?) -> Bool {
        if let transportError { return transportError.kind != .auth && transportError.kind != .notReplayed }
        return status.map { StatusCode($0).signalsOutage } ?? false
    }

    /// The codes whose documented disposition is ``Disposition/retryable``: the retry policy's default
    /// ``RetryPolicy/retryableStatuses``.
    public static let retryableByDefault: Set<Int> = Set(documented.filter { $0.value.disposition == .retryable }.keys)

    /// The code and its name: `429 Too Many Requests`.
    public var description: String { "\(rawValue) \(name)" }
}
