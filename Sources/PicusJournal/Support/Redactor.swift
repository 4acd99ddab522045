import Foundation

/// Removes secrets from what the journal stores and exports: auth headers, cookies, and token,
/// password, secret and API-key fields in JSON bodies and query strings.
public enum Redactor {
    /// What stands in place of a secret.
    public static let placeholder = "<redacted>"

    /// Whether a header, JSON key or query parameter name names a secret.
    public static func isSecret(name: String) -> Bool {
        let name = name.lowercased()
        if ["authorization", "proxy-authorization", "cookie", "set-cookie"].contains(name) { return true }
        return ["token", "password", "passwd", "secret", "api_key", "api-key", "apikey", "credential"]
            .contains { name.contains($0) }
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
        guard let value = JSONValue(parsing: body) else { return nil }
        var changed = false
        let redacted = redact(value, changed: &changed)
        guard changed else { return nil }
        return Data(redacted.jsonText.utf8)
    }

    /// The body with secrets removed: JSON with secret fields replaced, anything else unchanged.
    public static func body(_ body: Data) -> Data {
        jsonBody(body) ?? body
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
