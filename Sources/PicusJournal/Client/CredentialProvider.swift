import Foundation
import HTTPTypes

/// Supplies the access token the journaled client sends as `Authorization: Bearer …`.
///
/// Tokens live in memory only: the journal records `Bearer <redacted>`, never a token.
public protocol CredentialProvider: Sendable {
    /// A valid access token, refreshed first if it is about to expire.
    ///
    /// - Parameter exchange: The client's way to the token endpoint — its transport, timeout, clock,
    ///   tracing and metrics. A provider that fetches tokens over HTTP sends through it.
    /// - Throws: ``CredentialError`` when no token can be had.
    func accessToken(through exchange: TokenExchange) async throws -> String

    /// Forgets a token the server refused (a 401), so the next ``accessToken()`` fetches a new one.
    func invalidate(_ token: String) async

    /// Every secret this provider has held — the refresh token, and each access token it handed out —
    /// so that the client can scrub a server's echo of one from what it stores.
    func heldSecrets() async -> [String]
}

extension CredentialProvider {
    /// None by default: the client still scrubs the token it sent.
    public func heldSecrets() async -> [String] { [] }

    /// A valid access token, fetched outside any client (``TokenExchange/init(transport:timeout:clock:)``'s defaults).
    public func accessToken() async throws -> String {
        try await accessToken(through: TokenExchange())
    }
}

/// Why an access token could not be obtained.
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    /// The token exchange got no response.
    public var transportError: TransportError?
    /// The HTTP status of the token exchange, when it answered.
    public var status: Int?
    /// The decoded error body of the token exchange, when it answered with an error.
    public var body: ErrorBody?
    /// Any `Retry-After` the token exchange asked for, verbatim.
    public var retryAfter: String?

    /// Creates a credential error.
    public init(transportError: TransportError? = nil, status: Int? = nil, body: ErrorBody? = nil, retryAfter: String? = nil) {
        self.transportError = transportError
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }

    /// One line: what failed, never a token.
    public var description: String {
        if let transportError { return "token exchange failed (\(transportError))" }
        let detail = body?.message.map { ": \($0)" } ?? ""
        return "token exchange failed with HTTP \(status ?? 0)\(detail)"
    }

    /// Whether trying again later may succeed by the default retry policy: an outage, not a refused
    /// refresh token. A client decides by its own policy, with ``RetryPolicy/retriesTokenExchange(status:transportError:)``.
    public var isRetryable: Bool {
        RetryPolicy().retriesTokenExchange(status: status, transportError: transportError)
    }
}

/// Exchanges a Picus refresh token for access tokens, as `POST /v1/auth/token` documents, and
/// refreshes them ahead of expiry.
///
/// Concurrent callers share one exchange. `expire_at` is read in milliseconds or seconds (a value
/// above 10^12 is milliseconds). The exchange itself is never journaled: its body carries the
/// refresh token and its answer the access token.
///
/// ```swift
/// let credentials = RefreshTokenCredentials(refreshToken: token, baseURL: URL(string: "https://api.picussecurity.com")!)
/// let client = JournaledClient(journal: journal, baseURL: baseURL, credentials: credentials)
/// ```
public actor RefreshTokenCredentials: CredentialProvider {
    private let refreshToken: String
    private let tokenURL: URL
    private let refreshMargin: Duration
    private var current: (token: String, expiresAt: Date)?
    /// Every access token handed out, newest last (bounded): a server may echo an old one.
    private var issued: [String] = []
    private var exchange: Task<(token: String, expiresAt: Date), any Error>?

    /// How many token exchanges this provider has made.
    package private(set) var exchangeCount = 0

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - refreshToken: The refresh token a person generated in the Picus console.
    ///   - baseURL: The API's base URL.
    ///   - refreshMargin: How long before expiry a token counts as expired.
    public init(refreshToken: String, baseURL: URL, refreshMargin: Duration = .seconds(120)) {
        self.refreshToken = refreshToken
        self.tokenURL = baseURL.appendingPathComponent("v1/auth/token")
        self.refreshMargin = refreshMargin
    }

    public func accessToken(through exchange: TokenExchange) async throws -> String {
        if let current, current.expiresAt.addingTimeInterval(-refreshMargin.timeInterval) > exchange.clock.now() {
            return current.token
        }
        if let running = self.exchange {
            return try await running.value.token
        }
        let task = Task { [refreshToken, tokenURL, issued] in
            try await Self.exchange(refreshToken: refreshToken, at: tokenURL, through: exchange, secrets: [refreshToken] + issued)
        }
        self.exchange = task
        exchangeCount += 1
        defer { self.exchange = nil }
        let fresh = try await task.value
        current = fresh
        issued.append(fresh.token)
        if issued.count > 64 { issued.removeFirst(issued.count - 64) }
        return fresh.token
    }

    public func heldSecrets() -> [String] {
        [refreshToken] + issued
    }

    public func invalidate(_ token: String) {
        if current?.token == token { current = nil }
    }

    private static func exchange(
        refreshToken: String, at url: URL, through exchange: TokenExchange, secrets: [String]
    ) async throws -> (token: String, expiresAt: Date) {
        let body = try JSONEncoder().encode(["refresh_token": refreshToken])
        let request = HTTPRequest(method: .post, url: url,
                                  headerFields: [.contentType: "application/json", .accept: "application/json"])
        let response: TransportResponse
        do {
            response = try await exchange.send(request, body: body)
        } catch let error as TransportError {
            throw CredentialError(transportError: error)
        }
        guard (200..<300).contains(response.status), response.bodyIssue == nil else {
            // The answer of a token exchange may echo the refresh token, in any spelling: its body is
            // read as every error body is, scrubbed before it is decoded or capped.
            let matcher = SecretMatcher(secrets)
            throw CredentialError(status: response.status,
                                  body: ErrorBody.stored(from: response, scrubbing: matcher, contentType: response[header: "content-type"],
                                                         cap: ErrorBody.defaultCap),
                                  retryAfter: response[header: "retry-after"].map { Redactor.scrub($0, matcher: matcher) })
        }
        guard case .object(let fields)? = JSONValue(parsing: response.body),
            case .string(let token)? = fields["token"], !token.isEmpty
        else {
            throw CredentialError(status: response.status, body: ErrorBody(message: "the token exchange answered without a token", kind: .text))
        }
        return (token, expiry(of: fields["expire_at"], now: exchange.clock.now()))
    }

    /// `expire_at` in milliseconds or seconds; a missing value means the documented two hours.
    static func expiry(of value: JSONValue?, now: Date) -> Date {
        let number: Double? = switch value {
        case .integer(let integer)?: Double(integer)
        case .number(let double)?: double
        case .string(let text)?: Double(text)
        default: nil
        }
        guard let number, number > 0 else { return now.addingTimeInterval(2 * 3600) }
        return Date(timeIntervalSince1970: number > 1e12 ? number / 1000 : number)
    }
}
