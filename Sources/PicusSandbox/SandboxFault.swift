/// A scripted failure: the next `count` requests that match get `status` instead of their answer.
///
/// Post one to `/_sandbox/faults` as JSON, or call ``PicusSandbox/addFault(_:)``:
/// `{"status":503,"count":2,"method":"POST","path":"/v1/simulations","retryAfter":"5","html":true,"delayMs":100}`.
public struct SandboxFault: Codable, Sendable, Hashable {
    /// The status to answer with.
    public var status: Int
    /// How many matching requests get it.
    public var count: Int
    /// Only requests with this method; nil for any.
    public var method: String?
    /// Only requests whose path is this, or starts with it when it ends in `*`; nil for any.
    public var path: String?
    /// A `Retry-After` header to send.
    public var retryAfter: String?
    /// Extra headers to send, such as `X-Ratelimit-Reset`.
    public var headers: [String: String]?
    /// Answer with a gateway's HTML page instead of JSON.
    public var html: Bool?
    /// Answer with this body instead; `""` for an empty body.
    public var body: String?
    /// Wait this long before answering, in milliseconds.
    public var delayMs: Int?

    /// Creates a fault.
    public init(
        status: Int, count: Int = 1, method: String? = nil, path: String? = nil, retryAfter: String? = nil,
        headers: [String: String]? = nil, html: Bool? = nil, body: String? = nil, delayMs: Int? = nil
    ) {
        self.status = status
        self.count = count
        self.method = method
        self.path = path
        self.retryAfter = retryAfter
        self.headers = headers
        self.html = html
        self.body = body
        self.delayMs = delayMs
    }

    func matches(method: String, path: String) -> Bool {
        if let wanted = self.method, wanted.uppercased() != method { return false }
        guard let wanted = self.path else { return true }
        if wanted.hasSuffix("*") { return path.hasPrefix(wanted.dropLast()) }
        return path == wanted
    }
}

/// A request the sandbox received, as `GET /_sandbox/requests` lists it.
public struct ReceivedRequest: Codable, Sendable, Hashable {
    /// The method.
    public var method: String
    /// The path, without query.
    public var path: String
    /// The query string, or nil.
    public var query: String?
    /// The headers, names in lower case.
    public var headers: [String: String]
    /// The body as text.
    public var body: String
    /// When it arrived, unix milliseconds.
    public var receivedAt: Int64
    /// The status the sandbox answered.
    public var status: Int

    /// The `Idempotency-Key` header, if sent.
    public var idempotencyKey: String? { headers["idempotency-key"] }
}
