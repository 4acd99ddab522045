import Foundation
import HTTPTypes

/// Sends one HTTP request and returns its response: the only thing the journal needs from the network.
///
/// Every transport keeps one contract, which the package's conformance suite checks:
///
/// - A redirect is never followed: the `3xx` is the answer, `Location` and all. The token only ever
///   goes to the origin it was meant for.
/// - One deadline, ``TransportOptions/timeout``, bounds the whole attempt: connecting, sending, the
///   response head and the body. A server that drips bytes forever ends at the deadline.
/// - Bodies are read in bounded memory: a non-2xx body is kept up to
///   ``TransportOptions/maximumErrorBodySize`` and the rest is not read; a 2xx body past
///   ``TransportOptions/maximumBodySize`` stops with ``TransportResponse/BodyIssue/tooLarge(limit:)``.
/// - Once a status has arrived it decides: a body cut short, a deadline in the middle of the body or an
///   odd header is a ``TransportResponse/bodyIssue``, never a thrown error.
/// - A failure with no status is a ``TransportError`` whose ``TransportError/phase`` says whether the
///   request may have reached the server.
///
/// ``AsyncHTTPClientTransport`` is the default on Linux, ``URLSessionTransport`` on Apple platforms.
public protocol HTTPTransport: Sendable {
    /// Sends the request and returns the response, whatever its status.
    ///
    /// - Parameters:
    ///   - request: Method, absolute URL (scheme, authority, path) and header fields.
    ///   - body: The request body, if any.
    ///   - options: The attempt's deadline and body limits.
    /// - Throws: ``TransportError`` when no status arrived.
    func send(_ request: HTTPRequest, body: Data?, options: TransportOptions) async throws -> TransportResponse
}

/// The limits of one attempt.
public struct TransportOptions: Sendable, Hashable {
    /// How long the whole attempt may take, body included.
    public var timeout: Duration
    /// The largest 2xx body read; a larger one is a ``TransportResponse/BodyIssue/tooLarge(limit:)``.
    public var maximumBodySize: Int
    /// How much of a non-2xx body is kept; the rest is not read.
    public var maximumErrorBodySize: Int

    /// Creates options.
    public init(timeout: Duration = .seconds(30), maximumBodySize: Int = 32 * 1024 * 1024,
                maximumErrorBodySize: Int = ErrorBody.defaultCap) {
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
        self.maximumErrorBodySize = maximumErrorBodySize
    }
}

/// A response as it came off the wire: its head, and as much of its body as the limits allow.
public struct TransportResponse: Sendable {
    /// Why the body is not whole.
    public enum BodyIssue: Sendable, Hashable {
        /// A non-2xx body longer than the error-body cap: the first bytes were kept, the rest not read.
        case capped
        /// A 2xx body longer than ``TransportOptions/maximumBodySize``: reading stopped there.
        case tooLarge(limit: Int)
        /// The body ended early: the connection dropped, or the deadline passed mid-body.
        case interrupted(TransportError)

        /// What happened to the body, as a clause: "was over the 33554432-byte limit".
        public var summary: String {
            switch self {
            case .capped: "was longer than the error-body cap and was cut"
            case .tooLarge(let limit): "was over the \(limit)-byte limit"
            case .interrupted(let error): "was cut short (\(error.historyMessage))"
            }
        }
    }

    /// Status and header fields.
    public var head: HTTPResponse
    /// The body bytes kept.
    public var body: Data
    /// How long the body was: `Content-Length` when reading stopped early, else the bytes read.
    public var bodySize: Int
    /// Why the body is not whole; nil when it is.
    public var bodyIssue: BodyIssue?

    /// Creates a response.
    public init(head: HTTPResponse, body: Data = Data(), bodySize: Int? = nil, bodyIssue: BodyIssue? = nil) {
        self.head = head
        self.body = body
        self.bodySize = bodySize ?? body.count
        self.bodyIssue = bodyIssue
    }

    /// The status code.
    public var status: Int { head.status.code }

    /// The value of a header field, by case-insensitive name; repeated fields joined by commas.
    public subscript(header name: String) -> String? {
        guard let name = HTTPField.Name(name) else { return nil }
        return head.headerFields[name]
    }

    /// The header fields as the journal stores them: lower-case names, repeated fields joined by commas.
    public var headerDictionary: [String: String] {
        var headers: [String: String] = [:]
        for field in head.headerFields {
            let name = field.name.canonicalName
            if let existing = headers[name] {
                headers[name] = existing + ", " + field.value
            } else {
                headers[name] = field.value
            }
        }
        return headers
    }
}

/// The failure of a request that got no HTTP status.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why no response arrived. Every kind but `tls`, `auth`, `other` and `notReplayed` is retryable
    /// by default, and so is any failure in the ``Phase/afterSending`` phase: its outcome is unknown.
    ///
    /// A struct with static members, not an enum, so that a later version can add a kind without
    /// breaking a `switch` of yours.
    public struct Kind: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        /// The kind as the journal stores it: `timeout`, `refused`, …
        public let rawValue: String

        /// The kind with this stored name, or nil for a name this version does not know.
        public init?(rawValue: String) {
            guard let kind = Self.byName[rawValue] else { return nil }
            self = kind
        }

        private init(_ name: String) { rawValue = name }

        /// The host has no network.
        public static let offline = Kind("offline")
        /// The server refused the connection: nothing listens there.
        public static let refused = Kind("refused")
        /// The connection was lost mid-request.
        public static let reset = Kind("reset")
        /// No response within the attempt's deadline.
        public static let timeout = Kind("timeout")
        /// The host name did not resolve.
        public static let dns = Kind("dns")
        /// The TLS handshake or certificate check failed.
        public static let tls = Kind("tls")
        /// The request was cancelled by this process (it was shutting down, say); it may have reached the server.
        public static let cancelled = Kind("cancelled")
        /// The access token could not be obtained.
        public static let auth = Kind("auth")
        /// The process sending it stopped before recording the outcome; the server may have received it.
        public static let abandoned = Kind("abandoned")
        /// A replayer's retry policy never replays the entry's endpoint, so it was not sent again.
        public static let notReplayed = Kind("notReplayed")
        /// Anything else: an unparsable response, say.
        public static let other = Kind("other")

        /// Every kind this version knows.
        public static let allCases: [Kind] = [.offline, .refused, .reset, .timeout, .dns, .tls, .cancelled, .auth, .abandoned, .notReplayed, .other]

        /// The kinds by stored name, for reading a journal.
        private static let byName = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
        /// The kinds that fail before any byte of the request leaves.
        fileprivate static let failingBeforeSending: Set<Kind> = [.offline, .refused, .dns, .tls, .auth, .notReplayed]
        /// The kinds the default policy retries, when the outcome is known.
        fileprivate static let retryableByDefault: Set<Kind> = [.offline, .refused, .reset, .timeout, .dns, .cancelled, .abandoned]

        /// The stored name.
        public var description: String { rawValue }

        /// Decodes the stored name; a name this version does not know is an error.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let name = try container.decode(String.self)
            guard let kind = Kind(rawValue: name) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(name)' is not a transport error kind")
            }
            self = kind
        }

        /// Encodes the stored name.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    /// When a failure happened, which decides what is known of the request's fate.
    public enum Phase: String, Sendable, Hashable {
        /// Before any byte of the request left: refused, DNS, TLS, offline. The server saw nothing.
        case beforeSending
        /// After the request may have left: reset, timeout, an unparsable answer. The outcome is unknown.
        case afterSending
    }

    /// Why no response arrived.
    public var kind: Kind
    /// What the HTTP stack said.
    public var message: String
    /// Whether the request may have reached the server.
    public var phase: Phase

    /// Creates a transport error. The phase defaults to what the kind implies.
    public init(_ kind: Kind, _ message: String, phase: Phase? = nil) {
        self.kind = kind
        self.message = message
        self.phase = phase ?? Self.defaultPhase(of: kind)
    }

    private static func defaultPhase(of kind: Kind) -> Phase {
        Kind.failingBeforeSending.contains(kind) ? .beforeSending : .afterSending
    }

    /// Whether the server may have received the request although no status came back.
    public var isOutcomeUnknown: Bool { phase == .afterSending }

    /// The kind and the message, on one line: `kind: message`.
    public var description: String { "\(kind.rawValue): \(message)" }

    /// What the journal records: the message, and for an unknown outcome, that it is unknown.
    public var historyMessage: String {
        isOutcomeUnknown ? "outcome unknown (the request may have reached the server): \(message)" : message
    }

    /// Whether the default retry policy queues a request that failed this way. An unknown outcome
    /// always is: nothing that may have happened is written off as permanent.
    public var isRetryableByDefault: Bool {
        if isOutcomeUnknown { return true }
        return Kind.retryableByDefault.contains(kind)
    }
}

/// The default transport of this platform: AsyncHTTPClient on Linux (while the package trait
/// `AsyncHTTPClientTransport` is on, the default), URLSession elsewhere.
public enum DefaultTransport {
    /// The process-wide shared transport of this platform.
    public static var shared: any HTTPTransport {
        #if AsyncHTTPClientTransport && canImport(AsyncHTTPClient)
        AsyncHTTPClientTransport.shared
        #else
        URLSessionTransport.shared
        #endif
    }
}
