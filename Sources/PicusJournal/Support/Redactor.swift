import Foundation

/// Removes secrets from what the journal stores and exports: auth headers, cookies, and token,
/// password, secret and API-key fields in JSON bodies and query strings.
public enum Redactor {
    /// What stands in place of a secret.
    public static let placeholder = "<redacted>"

    private static let exactNames: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie"]
    private static let secretWords: [[UInt8]] = ["token", "password", "passwd", "secret", "api_key", "api-key", "apikey", "credential"]
        .map { Array($0.utf8) }

    /// Whether a header, JSON key or query parameter name names a secret.
    public static func isSecret(name: String) -> Bool {
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

    /// The headers with every secret value replaced; an `Authorization: Bearer …` keeps its scheme.
    public static func headers(_ headers: [String: String]) -> [String: String] {
        var redacted: [String: String] = [:]
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard isSecret(name: lowered) else {
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
    public static func jsonBody(_ body: Data) -> Data? {
        guard mayHoldSecret(body), let value = JSONValue(parsing: body) else { return nil }
        var changed = false
        let redacted = redact(value, changed: &changed)
        guard changed else { return nil }
        return Data(redacted.jsonText.utf8)
    }

    /// The body with secrets removed: JSON with secret fields replaced, a form-encoded body with
    /// secret parameters replaced, anything else unchanged.
    public static func body(_ body: Data) -> Data {
        if let json = jsonBody(body) { return json }
        guard mayHoldSecret(body), let text = String(data: body, encoding: .utf8), text.contains("="),
            !text.contains(where: { $0 == " " || $0 == "\n" || $0 == "{" || $0 == "<" })
        else { return body }
        return Data(query(text).utf8)
    }

    /// The query string (without `?`) with every secret parameter's value replaced.
    public static func query(_ query: String) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            guard parts.count == 2, isSecret(name: name) else { return String(pair) }
            return "\(parts[0])=\(placeholder)"
        }.joined(separator: "&")
    }

    private static func redact(_ value: JSONValue, changed: inout Bool) -> JSONValue {
        switch value {
        case .object(let fields):
            var result: [String: JSONValue] = [:]
            for (key, field) in fields {
                if isSecret(name: key), field != .null {
                    result[key] = .string(placeholder)
                    changed = true
                } else {
                    result[key] = redact(field, changed: &changed)
                }
            }
            return .object(result)
        case .array(let items):
            return .array(items.map { redact($0, changed: &changed) })
        default:
            return value
        }
    }
}
