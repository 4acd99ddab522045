import Foundation

/// The machine-readable form of an entry: one element of `picus-journal list --format json`.
///
/// This is a documented, stable contract. Every key is always present; absent values are `null`.
/// Times are ISO 8601 in UTC with milliseconds; `path` is the path as requested, query included.
///
/// ```json
/// {"id":3,"uuid":"…","createdAt":"2026-11-25T09:00:00.000Z","method":"GET","path":"/v1/simulations?limit=1000",
///  "state":"failed","status":422,"transportError":null,"attempts":1,
///  "error":{"message":"validation error","errorCode":null,"errors":{"limit":"tag=max, param=50, given value=1000"}},
///  "nextAttemptAt":null}
/// ```
public struct EntryDocument: Encodable, Sendable {
    /// The entry.
    public var entry: Entry
    /// Its attempts, for `show`; nil leaves the `attempts` count alone (the list form).
    public var attempts: [Attempt]?

    /// The document of an entry, with its attempts for the detailed form.
    public init(_ entry: Entry, attempts: [Attempt]? = nil) {
        self.entry = entry
        self.attempts = attempts
    }

    private enum Key: String, CodingKey {
        case id, uuid, createdAt, updatedAt, method, path, state, status, transportError, attempts, error
        case nextAttemptAt, requestHeaders, requestBody, leaseOwner, leaseExpiresAt, history
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(entry.id, forKey: .id)
        try container.encode(entry.uuid.uuidString.lowercased(), forKey: .uuid)
        try container.encode(ISO8601.string(from: entry.createdAt), forKey: .createdAt)
        try container.encode(entry.method, forKey: .method)
        try container.encode(entry.redactedTarget, forKey: .path)
        try container.encode(entry.state.rawValue, forKey: .state)
        try container.encode(entry.lastStatus, forKey: .status)
        try container.encode(entry.lastTransportError?.rawValue, forKey: .transportError)
        try container.encode(entry.attemptCount, forKey: .attempts)
        if let error = entry.lastError {
            try container.encode(ErrorDocument(message: error.message, errorCode: error.errorCode, errors: error.errors), forKey: .error)
        } else {
            try container.encodeNil(forKey: .error)
        }
        try container.encode(entry.nextAttemptAt.map(ISO8601.string(from:)), forKey: .nextAttemptAt)
        guard let attempts else { return }
        try container.encode(ISO8601.string(from: entry.updatedAt), forKey: .updatedAt)
        try container.encode(Redactor.headers(entry.requestHeaders), forKey: .requestHeaders)
        try container.encode(entry.requestBody.map { String(decoding: Redactor.body($0), as: UTF8.self) }, forKey: .requestBody)
        try container.encode(entry.leaseOwner, forKey: .leaseOwner)
        try container.encode(entry.leaseExpiresAt.map(ISO8601.string(from:)), forKey: .leaseExpiresAt)
        try container.encode(attempts.map(AttemptDocument.init), forKey: .history)
    }

    /// Encodes documents as JSON text: an array, `[]` when empty.
    public static func json(_ documents: [EntryDocument], pretty: Bool = true) throws -> String {
        // Foundation pretty-prints an empty array over three lines.
        documents.isEmpty ? "[]" : try jsonText(documents, pretty: pretty)
    }

    /// Encodes one document as JSON text.
    public static func json(_ document: EntryDocument, pretty: Bool = true) throws -> String {
        try jsonText(document, pretty: pretty)
    }

    private static func jsonText(_ value: some Encodable, pretty: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `{"message","errorCode","errors"}`: `errorCode` is a number when the server sent one, else a string.
struct ErrorDocument: Encodable {
    var message: String?
    var errorCode: String?
    var errors: JSONValue?

    private enum Key: String, CodingKey { case message, errorCode, errors }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(message, forKey: .message)
        if let errorCode, let number = Int64(errorCode), String(number) == errorCode {
            try container.encode(number, forKey: .errorCode)
        } else {
            try container.encode(errorCode, forKey: .errorCode)
        }
        try container.encode(errors, forKey: .errors)
    }
}

/// One attempt in the detailed form of an entry.
struct AttemptDocument: Encodable {
    let attempt: Attempt

    private enum Key: String, CodingKey {
        case number, startedAt, durationMs, status, transportError, outcome, responseHeaders, error, bodyKind, body
        case bodySize, retryAfterMs, rateLimit
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(attempt.number, forKey: .number)
        try container.encode(ISO8601.string(from: attempt.startedAt), forKey: .startedAt)
        try container.encode((attempt.durationMs * 1000).rounded() / 1000, forKey: .durationMs)
        try container.encode(attempt.status, forKey: .status)
        try container.encode(attempt.transportError?.rawValue, forKey: .transportError)
        try container.encode(attempt.outcome.rawValue, forKey: .outcome)
        try container.encode(Redactor.headers(attempt.responseHeaders), forKey: .responseHeaders)
        if let error = attempt.error {
            try container.encode(ErrorDocument(message: error.message, errorCode: error.errorCode, errors: error.errors), forKey: .error)
            try container.encode(error.kind.rawValue, forKey: .bodyKind)
            let raw = Redactor.body(error.raw)
            let text = error.kind == .binary ? raw.base64EncodedString() : String(decoding: raw, as: UTF8.self)
            try container.encode(text, forKey: .body)
            try container.encode(error.size, forKey: .bodySize)
        } else {
            try container.encodeNil(forKey: .error)
        }
        try container.encode(attempt.retryAfterMs, forKey: .retryAfterMs)
        if attempt.rateLimitLimit != nil || attempt.rateLimitReset != nil {
            try container.encode(
                ["limit": attempt.rateLimitLimit.map(Int64.init), "remaining": attempt.rateLimitRemaining.map(Int64.init),
                 "reset": attempt.rateLimitReset], forKey: .rateLimit)
        } else {
            try container.encodeNil(forKey: .rateLimit)
        }
    }
}

extension EntryDocument {
    /// The list form of entries as NDJSON: one `list --format json` object per line.
    public static func ndjson(_ entries: [Entry]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try entries.map { String(decoding: try encoder.encode(EntryDocument($0)), as: UTF8.self) + "\n" }.joined()
    }

    /// The columns of `list --format csv`, in order.
    public static let csvColumns = [
        "id", "uuid", "createdAt", "method", "path", "state", "status", "transportError", "attempts", "errorMessage",
        "errorCode", "errors", "nextAttemptAt",
    ]

    /// The list form of entries as CSV (RFC 4180), with a header row.
    public static func csv(_ entries: [Entry]) -> String {
        var lines = [csvColumns.joined(separator: ",")]
        for entry in entries {
            let fields: [String?] = [
                String(entry.id), entry.uuid.uuidString.lowercased(), ISO8601.string(from: entry.createdAt), entry.method,
                entry.redactedTarget, entry.state.rawValue, entry.lastStatus.map(String.init), entry.lastTransportError?.rawValue,
                String(entry.attemptCount), entry.lastErrorMessage, entry.lastErrorCode, entry.lastErrors?.jsonText,
                entry.nextAttemptAt.map(ISO8601.string(from:)),
            ]
            lines.append(fields.map { CSV.field($0 ?? "") }.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
