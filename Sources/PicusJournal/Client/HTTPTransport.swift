import Foundation

/// Sends one HTTP request and returns its response: the only thing the journaled client needs
/// from the network.
///
/// A response with any status, 500 included, is a response: return it. Throw a `TransportError`
/// only when no response arrived; other errors are recorded as `TransportError.Kind.other`.
/// ``URLSessionTransport`` is the default on Linux and Apple platforms; supply your own to route
/// requests through another HTTP stack.
public protocol HTTPTransport: Sendable {
    /// Sends the request and returns the response, whatever its status.
    ///
    /// - Throws: ``TransportError`` when no response arrived.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// A request as it goes on the wire.
public struct HTTPRequest: Sendable, Hashable {
    /// The method, upper case: `GET`, `POST`, …
    public var method: String
    /// The absolute URL, query string included.
    public var url: URL
    /// The header fields, by name.
    public var headers: [String: String]
    /// The body, if any.
    public var body: Data?
    /// How long to wait for the whole response.
    public var timeout: Duration

    /// Creates a request.
    public init(method: String, url: URL, headers: [String: String] = [:], body: Data? = nil,
                timeout: Duration = .seconds(30)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A response as it came off the wire.
public struct HTTPResponse: Sendable, Hashable {
    /// The HTTP status code.
    public var status: Int
    /// The header fields, names in lower case.
    public var headers: [String: String]
    /// The body, empty when there was none.
    public var body: Data

    /// Creates a response; header names are lower-cased.
    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }

    /// The value of a header field, by case-insensitive name.
    public subscript(header name: String) -> String? { headers[name.lowercased()] }
}

/// The failure of a request that got no HTTP response.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why no response arrived. Every kind but `tls`, `auth` and `other` is retryable by default.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The host has no network.
        case offline
        /// The server refused the connection: nothing listens there.
        case refused
        /// The connection was lost mid-request.
        case reset
        /// No response within the timeout.
        case timeout
        /// The host name did not resolve.
        case dns
        /// The TLS handshake or certificate check failed.
        case tls
        /// The request was cancelled by this process (it was shutting down, say); it may have reached the server.
        case cancelled
        /// The access token could not be obtained.
        case auth
        /// The process sending it stopped before recording the outcome; the server may have received it.
        case abandoned
        /// Anything else.
        case other
    }

    /// Why no response arrived.
    public var kind: Kind
    /// What the HTTP stack said.
    public var message: String

    /// Creates a transport error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// Whether the default retry policy queues a request that failed this way.
    public var isRetryableByDefault: Bool {
        switch kind {
        case .offline, .refused, .reset, .timeout, .dns, .cancelled, .abandoned: true
        case .tls, .auth, .other: false
        }
    }
}
