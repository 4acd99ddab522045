import Foundation

/// Removes secrets from what the journal stores and exports: auth headers, cookies, and token,
/// password, secret and API-key fields in JSON bodies and query strings.
package enum Redactor {
    /// What stands in place of a secret.
    package static let placeholder = "<redacted>"

    private static let exactNames: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie"]
    private static let secretWords: [[UInt8]] = ["token", "password", "passwd", "secret", "api_key", "api-key", "apikey", "credential", "session"]
        .map { Array($0.utf8) }
    /// Header names are redacted more eagerly than JSON keys: any header named like a key or a cookie.
    private static let headerWords: [[UInt8]] = ["key", "cookie", "auth"].map { Array($0.utf8) }

    /// Whether a header name names a secret: the words of ``isSecret(name:)`` plus `key`, `cookie`
    /// and `auth` (`X-Tenant-Key`, `X-Session-Cookie`, `X-Auth-…`), or one of `extra` (lower-case).
    package static func isSecretHeader(name: String, extra: Set<String> = []) -> Bool {
        let lowered = name.lowercased()
        if isSecret(name: lowered) || extra.contains(lowered) { return true }
        let bytes = Array(lowered.utf8)
        return bytes.withUnsafeBufferPointer { bytes in
            headerWords.contains { word in word.withUnsafeBufferPointer { occurs($0, in: bytes) } }
        }
    }

    /// Replaces every spelling of each secret value (an access token this process held, the refresh
    /// token) in `data`: as is, JSON-escaped (`\/`, `\u0041`, nested), percent-encoded or as HTML
    /// character references, in any mix. A server that echoes a token does not get it stored.
    ///
    /// - Parameters:
    ///   - data: The bytes, before any cap is applied to them.
    ///   - secrets: The values to remove; those shorter than 8 bytes are left alone.
    ///   - isCut: Whether `data` was cut short: then a tail that spells the first characters of a
    ///     secret is removed too.
    package static func scrub(_ data: Data, secrets: [String], isCut: Bool = false) -> Data {
        scrub(data, matcher: SecretMatcher(secrets), isCut: isCut)
    }

    static func scrub(_ data: Data, matcher: SecretMatcher, isCut: Bool = false) -> Data {
        guard !matcher.isEmpty, !data.isEmpty else { return data }
        let ranges = data.withUnsafeBytes { matcher.ranges(in: $0.bindMemory(to: UInt8.self), isCut: isCut) }
        guard !ranges.isEmpty else { return data }
        var scrubbed = Data(capacity: data.count)
        var start = 0
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            for range in ranges {
                scrubbed.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<range.lowerBound]))
                scrubbed.append(contentsOf: placeholder.utf8)
                start = range.upperBound
            }
            scrubbed.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        return scrubbed
    }

    /// Replaces every spelling of each secret value in `text`, as ``scrub(_:secrets:isCut:)-(Data,_,_)`` does.
    package static func scrub(_ text: String, secrets: [String]) -> String {
        scrub(text, matcher: SecretMatcher(secrets))
    }

    static func scrub(_ text: String, matcher: SecretMatcher) -> String {
        guard !matcher.isEmpty else { return text }
        var text = text
        let hasMatch = text.withUTF8 { !matcher.ranges(in: $0, isCut: false).isEmpty }
        guard hasMatch else { return text }
        return String(decoding: scrub(Data(text.utf8), matcher: matcher), as: UTF8.self)
    }

    /// Whether the bytes of `needle` occur in `text`.
    private static func occurs(_ needle: UnsafeBufferPointer<UInt8>, in text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = needle.first, needle.count <= text.count else { return needle.isEmpty }
        var start = 0
        while start <= text.count - needle.count {
            if text[start] == first, needle.indices.allSatisfy({ text[start + $0] == needle[$0] }) { return true }
            start += 1
        }
        return false
    }

    /// Whether a header, JSON key or query parameter name names a secret.
    package static func isSecret(name: String) -> Bool {
        let bytes = name.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        if exactNames.contains(String(decoding: bytes, as: UTF8.self)) { return true }
        return containsSecretWord(bytes[...])
    }

    /// Whether lower-cased bytes contain one of the secret words (byte search: names and bodies are
    /// scanned on every export, and Foundation's string search is slow on Linux).
    private static func containsSecretWord(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count >= 5 else { return false }
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "t") || byte == UInt8(ascii: "p") || byte == UInt8(ascii: "s") || byte == UInt8(ascii: "a")
                || byte == UInt8(ascii: "c")
            {
                for word in secretWords where word[0] == byte && bytes.endIndex - index >= word.count {
                    if bytes[index..<(index + word.count)].elementsEqual(word) { return true }
                }
            }
            index += 1
        }
        return false
    }

    /// Whether a body might hold a secret field: only such bodies are parsed and rewritten.
    static func mayHoldSecret(_ body: Data) -> Bool {
        let lowered = body.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        // A key spelled with JSON escapes (`"\u0074oken"`) hides from the byte scan: parse those too.
        return containsSecretWord(lowered[...]) || body.range(of: Data("\\u".utf8)) != nil
    }

    /// Headers stored as a JSON object (as the journal keeps them), with every secret value replaced:
    /// the text itself when nothing needed replacing.
    package static func headersJSON(_ text: String) -> String {
        let headers = JSONColumn.decodeHeaders(text)
        let redacted = Self.headers(headers)
        return redacted == headers ? text : JSONColumn.encode(redacted)
    }

    /// The headers with every secret value replaced; an `Authorization: Bearer …` keeps its scheme.
    ///
    /// - Parameters:
    ///   - headers: The header fields.
    ///   - rules: Extra names to redact.
    package static func headers(_ headers: [String: String], rules: RedactionRules = RedactionRules()) -> [String: String] {
        var redacted: [String: String] = [:]
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard isSecretHeader(name: lowered, extra: rules.headerNames) else {
                redacted[lowered] = value
                continue
            }
            if lowered.hasSuffix("authorization"), let space = value.firstIndex(of: " ") {
                redacted[lowered] = "\(value[..<space]) \(placeholder)"
            } else {
                redacted[lowered] = placeholder
            }
        }
        return redacted
    }

    /// The JSON body with every secret field replaced, or nil when it is not JSON or holds no secret.
    package static func jsonBody(_ body: Data, rules: RedactionRules = RedactionRules()) -> Data? {
        guard mayHoldSecret(body) || rules.mayMatch(body), let value = JSONValue(parsing: body) else { return nil }
        var changed = false
        let redacted = redact(value, rules: rules, changed: &changed)
        guard changed else { return nil }
        return Data(redacted.jsonText.utf8)
    }

    /// The body with secrets removed: JSON with secret fields replaced, a form-encoded body with
    /// secret parameters replaced, anything else unchanged.
    package static func body(_ body: Data, rules: RedactionRules = RedactionRules()) -> Data {
        if let json = jsonBody(body, rules: rules) { return json }
        guard mayHoldSecret(body) || rules.mayMatch(body), let text = String(data: body, encoding: .utf8), text.contains("="),
            !text.contains(where: { $0 == " " || $0 == "\n" || $0 == "{" || $0 == "<" })
        else { return body }
        return Data(query(text, rules: rules).utf8)
    }

    /// The query string (without `?`) with every secret parameter's value replaced.
    package static func query(_ query: String, rules: RedactionRules = RedactionRules()) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            guard parts.count == 2, isSecret(name: name) || rules.queryParameters.contains(name.lowercased()) else { return String(pair) }
            return "\(parts[0])=\(placeholder)"
        }.joined(separator: "&")
    }

    private static func redact(_ value: JSONValue, rules: RedactionRules, changed: inout Bool) -> JSONValue {
        switch value {
        case .object(let fields):
            var result: [String: JSONValue] = [:]
            for (key, field) in fields {
                if isSecret(name: key) || rules.jsonKeys.contains(key.lowercased()), field != .null {
                    result[key] = .string(placeholder)
                    changed = true
                } else {
                    result[key] = redact(field, rules: rules, changed: &changed)
                }
            }
            return .object(result)
        case .array(let items):
            return .array(items.map { redact($0, rules: rules, changed: &changed) })
        default:
            return value
        }
    }
}

/// Names to redact beyond the built-in ones (auth headers, cookies, and anything named like a token,
/// password, secret, session, credential or API key; for headers also any `…key…`, `…cookie…`, `…auth…`).
///
/// ```swift
/// var configuration = JournaledClient.Configuration()
/// configuration.redaction.headerNames = ["x-tenant-key"]
/// configuration.redaction.jsonKeys = ["customer_pin"]
/// ```
public struct RedactionRules: Sendable, Hashable {
    /// Extra header names, any case.
    public var headerNames: Set<String> { didSet { headerNames = Set(headerNames.map { $0.lowercased() }) } }
    /// Extra JSON keys, at any depth, any case.
    public var jsonKeys: Set<String> { didSet { jsonKeys = Set(jsonKeys.map { $0.lowercased() }) } }
    /// Extra query parameters, any case.
    public var queryParameters: Set<String> { didSet { queryParameters = Set(queryParameters.map { $0.lowercased() }) } }

    /// Rules that redact the built-in names and these.
    public init(headerNames: Set<String> = [], jsonKeys: Set<String> = [], queryParameters: Set<String> = []) {
        self.headerNames = Set(headerNames.map { $0.lowercased() })
        self.jsonKeys = Set(jsonKeys.map { $0.lowercased() })
        self.queryParameters = Set(queryParameters.map { $0.lowercased() })
    }

    /// Whether a body may hold one of the extra keys (a cheap byte scan before parsing).
    func mayMatch(_ body: Data) -> Bool {
        guard !jsonKeys.isEmpty || !queryParameters.isEmpty else { return false }
        let lowered = Data(body.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 })
        return jsonKeys.union(queryParameters).contains { lowered.range(of: Data($0.utf8)) != nil }
    }
}
