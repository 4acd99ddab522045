import Foundation

/// A request to the Picus API, as a caller states it.
///
/// ```swift
/// let request = APIRequest.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#)
/// ```
public struct APIRequest: Sendable, Hashable {
    /// The HTTP method, upper case.
    public var method: String
    /// The path, with its query string if any: `/v1/simulations?limit=10`.
    public var path: String
    /// Extra header fields. `Authorization` and `Idempotency-Key` are the client's to set.
    public var headers: [String: String]
    /// The body, if any.
    public var body: Data?

    /// Creates a request.
    public init(method: String, path: String, headers: [String: String] = [:], body: Data? = nil) {
        self.method = method.uppercased()
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// A `GET` request.
    public static func get(_ path: String) -> APIRequest {
        APIRequest(method: "GET", path: path)
    }

    /// A request with a JSON body.
    public static func json(_ method: String, _ path: String, body: String) -> APIRequest {
        APIRequest(method: method, path: path, headers: ["Content-Type": "application/json"], body: Data(body.utf8))
    }

    /// A `POST` request with a JSON body.
    public static func post(_ path: String, json body: String) -> APIRequest {
        json("POST", path, body: body)
    }

    /// The path without its query string.
    public var pathWithoutQuery: String {
        String(path.prefix { $0 != "?" })
    }

    /// The query string without its `?`, or nil.
    public var query: String? {
        guard let mark = path.firstIndex(of: "?") else { return nil }
        let query = path[path.index(after: mark)...]
        return query.isEmpty ? nil : String(query)
    }
}

/// A request the client refuses before journaling it.
public struct RequestError: Error, Sendable, CustomStringConvertible {
    /// What is wrong with the request.
    public let message: String

    /// Creates the error.
    public init(_ message: String) { self.message = message }

    /// One line: what is wrong with the request.
    public var description: String { message }
}
