import Foundation

/// Header maps stored as JSON text.
package enum JSONColumn {
    package static func encode(_ headers: [String: String]) -> String {
        var output = JSONOutput(capacity: 256)
        output.value(headers)
        return String(decoding: output.bytes, as: UTF8.self)
    }

    package static func decodeHeaders(_ text: String?) -> [String: String] {
        guard let text else { return [:] }
        if let headers = FlatJSONObject.parse(text) { return headers }
        // Anything the fast reader does not take (it takes what `encode` writes) goes the long way.
        guard let data = text.data(using: .utf8), let headers = try? JSONDecoder().decode([String: String].self, from: data) else {
            return [:]
        }
        return headers
    }
}
