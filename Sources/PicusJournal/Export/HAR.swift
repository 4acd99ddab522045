import Foundation

/// HTTP Archive 1.2 (http://www.softwareishard.com/blog/har-12-spec/): the fields the spec requires,
/// and ours prefixed with `_`.
enum HAR {
    struct NameValue: Encodable {
        var name: String
        var value: String
    }

    struct PostData: Encodable {
        var mimeType: String
        var text: String
    }

    struct Request: Encodable {
        var method: String
        var url: String
        var httpVersion = "HTTP/1.1"
        var cookies: [NameValue] = []
        var headers: [NameValue]
        var queryString: [NameValue]
        var postData: PostData?
        var headersSize = -1
        var bodySize: Int
    }

    struct Content: Encodable {
        var size: Int
        var mimeType: String
        var text: String?
        var encoding: String?
        var comment: String?
    }

    struct Response: Encodable {
        var status: Int
        var statusText: String
        var httpVersion = "HTTP/1.1"
        var cookies: [NameValue] = []
        var headers: [NameValue]
        var content: Content
        var redirectURL = ""
        var headersSize = -1
        var bodySize: Int
    }

    struct Cache: Encodable {}

    struct Timings: Encodable {
        var blocked = -1.0
        var dns = -1.0
        var connect = -1.0
        var ssl = -1.0
        var send = 0.0
        var wait: Double
        var receive = 0.0
    }

    struct Entry: Encodable {
        var startedDateTime: String
        var time: Double
        var request: Request
        var response: Response
        var cache = Cache()
        var timings: Timings
        var comment: String?
        var _entryId: Int64
        var _agent: String?
        var _uuid: String
        var _state: String
        var _attempt: Int
        var _outcome: String?
        var _transportError: String?
        var _error: JSONValue?
    }

    /// One HAR entry for an attempt (or, for an entry never sent, for the request alone).
    static func entry(for entry: PicusJournal.Entry, attempt: Attempt?, origin: String) -> Entry {
        var headers = entry.requestHeaders
        headers["idempotency-key"] = entry.uuid.uuidString.lowercased()
        let query = entry.query.map { Redactor.query($0) }
        let queryItems: [NameValue] = (query ?? "").split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : ""
            return NameValue(name: name.removingPercentEncoding ?? name, value: value.removingPercentEncoding ?? value)
        }
        let body = entry.requestBody.map { Redactor.body($0) }
        let request = Request(
            method: entry.method, url: origin + entry.redactedTarget, headers: nameValues(headers), queryString: queryItems,
            postData: body.map { PostData(mimeType: headers["content-type"] ?? "application/json", text: String(decoding: $0, as: UTF8.self)) },
            bodySize: body?.count ?? 0)

        guard let attempt else {
            return Entry(
                startedDateTime: ISO8601.string(from: entry.createdAt), time: 0, request: request,
                response: Response(status: 0, statusText: "", headers: [], content: Content(size: 0, mimeType: "x-unknown",
                                   comment: "not sent yet"), bodySize: -1),
                timings: Timings(wait: 0), comment: "not sent yet", _entryId: entry.id,
                _agent: entry.agent, _uuid: entry.uuid.uuidString.lowercased(), _state: entry.state.rawValue, _attempt: 0)
        }
        let error = attempt.error
        var content = Content(size: 0, mimeType: attempt.responseHeaders["content-type"] ?? "x-unknown")
        if let error, attempt.status != nil {
            let raw = Redactor.body(error.raw)
            content.size = error.size
            if error.kind == .binary {
                content.text = raw.base64EncodedString()
                content.encoding = "base64"
            } else {
                content.text = String(decoding: raw, as: UTF8.self)
            }
            if error.isTruncated { content.comment = "kept the first \(error.raw.count) of \(error.size) bytes" }
        } else if attempt.status != nil {
            content.comment = "the journal keeps the bodies of error responses only"
        }
        let response = Response(
            status: attempt.status ?? 0,
            statusText: attempt.status.map { StatusCode($0).name } ?? "",
            headers: nameValues(attempt.responseHeaders), content: content,
            bodySize: attempt.status == nil ? -1 : (error?.size ?? -1))
        return Entry(
            startedDateTime: ISO8601.string(from: attempt.startedAt), time: attempt.durationMs, request: request,
            response: response, timings: Timings(wait: attempt.durationMs),
            comment: attempt.transportError.map { "no response: \($0.rawValue)" },
            _entryId: entry.id, _agent: entry.agent, _uuid: entry.uuid.uuidString.lowercased(), _state: entry.state.rawValue,
            _attempt: attempt.number, _outcome: attempt.outcome.rawValue, _transportError: attempt.transportError?.rawValue,
            _error: error.map { EntryDocument.errorValue(message: $0.message, errorCode: $0.errorCode, errors: $0.errors) })
    }

    private static func nameValues(_ headers: [String: String]) -> [NameValue] {
        Redactor.headers(headers).sorted { $0.key < $1.key }.map { NameValue(name: $0.key, value: $0.value) }
    }
}
