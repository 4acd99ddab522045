import Foundation

/// A Picus error response body, decoded tolerantly.
///
/// Picus answers errors with `{"message": …, "error_code": …, "errors": …}`. `errors` is documented
/// as an object, shown as an array and sometimes sent as a string; some endpoints add `code` and
/// `success`. Gateways answer with HTML or nothing at all. Whatever arrives, `decode(_:contentType:)`
/// keeps the raw bytes (up to a cap), says what kind of body it was, and never fails.
///
/// ```swift
/// let body = ErrorBody.decode(Data(#"{"message":"validation error","errors":{"limit":"tag=max"}}"#.utf8))
/// body.message   // "validation error"
/// body.errors    // .object(["limit": .string("tag=max")])
/// ```
public struct ErrorBody: Sendable, Hashable {
    /// The `message` field; for an HTML page its title, for text its first line.
    public var message: String?
    /// The `error_code` field, as text (`"1001"`); Picus documents an integer, some answers carry a string.
    public var errorCode: String?
    /// The `errors` field as it arrived: an object, an array or a string.
    public var errors: JSONValue?
    /// The `code` field some endpoints add.
    public var code: Int?
    /// The `success` field some endpoints add.
    public var success: Bool?
    /// What the body turned out to be.
    public var kind: BodyKind
    /// The raw body, cut at the cap it was decoded with.
    public var raw: Data
    /// The size of the body before the cap, in bytes.
    public var size: Int

    /// Whether `raw` holds less than the server sent.
    public var isTruncated: Bool { raw.count < size }

    /// The default cap on the raw bytes kept: 64 KiB.
    public static let defaultCap = 64 * 1024

    /// How far past its cap an error body is read, so that a secret that straddles the cap is
    /// scrubbed whole before the cap cuts the body.
    static let scrubbingMargin = 4096

    /// Bodies larger than this are not parsed as JSON: their kind is read from their first bytes.
    static let parseLimit = 4 * 1024 * 1024

    /// Creates a decoded body from its parts.
    public init(
        message: String? = nil, errorCode: String? = nil, errors: JSONValue? = nil, code: Int? = nil,
        success: Bool? = nil, kind: BodyKind, raw: Data = Data(), size: Int? = nil
    ) {
        self.message = message
        self.errorCode = errorCode
        self.errors = errors
        self.code = code
        self.success = success
        self.kind = kind
        self.raw = raw
        self.size = size ?? raw.count
    }

    /// Decodes any response body. Never fails: what is not a Picus envelope is kept raw and classified.
    ///
    /// - Parameters:
    ///   - data: The body as received.
    ///   - contentType: The `Content-Type` header, if any; it only helps tell HTML from text.
    ///   - cap: How many bytes of the raw body to keep.
    public static func decode(_ data: Data, contentType: String? = nil, cap: Int = defaultCap) -> ErrorBody {
        var body = decodeFields(data, contentType: contentType, cap: cap)
        body.message = body.message.map(showingNUL)
        body.errorCode = body.errorCode.map(showingNUL)
        return body
    }

    /// The text with each NUL shown as `␀`: SQLite's C strings and the terminal would end the text
    /// at a NUL and drop what follows it.
    private static func showingNUL(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{2400}") : text
    }

    private static func decodeFields(_ data: Data, contentType: String?, cap: Int) -> ErrorBody {
        let raw = data.count > cap ? Data(data.prefix(cap)) : data
        var body = ErrorBody(kind: .empty, raw: raw, size: data.count)

        guard let firstByte = data.first(where: { !isWhiteSpace($0) }) else { return body }
        if data.count <= parseLimit, firstByte == UInt8(ascii: "{") || firstByte == UInt8(ascii: "["),
            let value = JSONValue(parsing: data)
        {
            body.kind = .json
            body.readEnvelope(value)
            return body
        }
        // Decide text or binary on the first bytes only: a very large body is not read whole.
        let head = data.prefix(8192)
        guard let text = utf8Prefix(head, isWhole: head.count == data.count) else {
            body.kind = .binary
            return body
        }
        if looksLikeHTML(text, contentType: contentType) {
            body.kind = .html
            body.message = htmlTitle(in: text)
        } else {
            body.kind = .text
            body.message = firstLine(of: text)
        }
        return body
    }

    /// The error body of a response as the journal keeps it: every spelling of `secrets` scrubbed,
    /// secret-named fields redacted, then decoded, then capped — in that order, so that neither a
    /// cap nor an escape keeps part of a secret. Every error body, the token exchange's included,
    /// is read this way.
    static func stored(from response: TransportResponse, scrubbing matcher: SecretMatcher, rules: RedactionRules = RedactionRules(),
                       contentType: String?, cap: Int) -> ErrorBody {
        let scrubbed = Redactor.scrub(response.body, matcher: matcher, isCut: response.bodyIssue != nil)
        var body = decode(Redactor.body(scrubbed, rules: rules), contentType: contentType, cap: cap)
        body.scrub(matcher)
        body.size = max(body.size, response.bodySize)
        return body
    }

    /// Removes every spelling of the matcher's secrets from the decoded fields, what the JSON says with
    /// its escapes undone (the raw bytes they were decoded from are scrubbed already).
    private mutating func scrub(_ matcher: SecretMatcher) {
        guard !matcher.isEmpty else { return }
        message = message.map { Redactor.scrub($0, matcher: matcher) }
        errorCode = errorCode.map { Redactor.scrub($0, matcher: matcher) }
        errors = errors.map { $0.scrubbingStrings(matcher) }
    }

    private mutating func readEnvelope(_ value: JSONValue) {
        guard case .object(let fields) = value else {
            // A bare array or string: keep it as the details.
            errors = value
            return
        }
        switch fields["message"] {
        case .string(let text)?: message = text
        case let other?: message = other.displayText
        case nil: if case .string(let text)? = fields["error"] { message = text }
        }
        switch fields["error_code"] ?? fields["errorCode"] {
        case .integer(let number)?: errorCode = String(number)
        case .string(let text)?: errorCode = text
        case .number(let number)?: errorCode = String(number)
        default: break
        }
        if let details = fields["errors"] {
            errors = Self.normalisedErrors(details)
        }
        switch fields["code"] {
        case .integer(let number)?: code = Int(exactly: number)
        case .string(let text)?: code = Int(text)
        default: break
        }
        if case .bool(let flag)? = fields["success"] { success = flag }
    }

    /// A string that holds a JSON array or object (the swagger's example) becomes that value.
    private static func normalisedErrors(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null:
            return nil
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("[") || trimmed.hasPrefix("{"), let parsed = JSONValue(parsing: Data(trimmed.utf8)) {
                return parsed
            }
            return value
        default:
            return value
        }
    }

    private static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The text of a UTF-8 prefix, or nil when the bytes are not text. A multi-byte character cut
    /// by the prefix is dropped, not held against the body.
    private static func utf8Prefix(_ bytes: Data, isWhole: Bool) -> String? {
        var bytes = bytes
        for _ in 0..<4 {
            if let text = String(validating: bytes, as: UTF8.self) {
                let hasControlBytes = text.unicodeScalars.contains {
                    $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t"
                }
                return hasControlBytes ? nil : text
            }
            guard !isWhole, !bytes.isEmpty else { return nil }
            bytes = bytes.dropLast()
        }
        return nil
    }

    private static func looksLikeHTML(_ text: String, contentType: String?) -> Bool {
        if let contentType, contentType.lowercased().contains("html") { return true }
        let start = text.drop(while: { $0.isWhitespace }).prefix(64).lowercased()
        return start.hasPrefix("<!doctype html") || start.hasPrefix("<html") || start.hasPrefix("<head")
            || start.hasPrefix("<body") || start.hasPrefix("<h1") || start.hasPrefix("<center")
    }

    private static func htmlTitle(in html: String) -> String? {
        for tag in ["title", "h1"] {
            guard let open = html.range(of: "<\(tag)", options: .caseInsensitive),
                let openEnd = html[open.upperBound...].firstIndex(of: ">"),
                let close = html[openEnd...].range(of: "</\(tag)>", options: .caseInsensitive)
            else { continue }
            let title = html[html.index(after: openEnd)..<close.lowerBound]
                .split(whereSeparator: \.isWhitespace).joined(separator: " ")
            if !title.isEmpty { return String(title.prefix(200)) }
        }
        return nil
    }

    private static func firstLine(of text: String) -> String? {
        let line = text.split(whereSeparator: \.isNewline).first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let line, !line.isEmpty else { return nil }
        return String(line.prefix(200))
    }
}
