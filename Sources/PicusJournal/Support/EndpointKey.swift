/// Folds a method and path into the endpoint they address, `GET /v1/agents/{id}`: the unit Picus
/// rate-limits by. Segments that are numbers, UUIDs or long hexadecimal ids become `{id}`.
package enum EndpointKey {
    package static func make(method: String, path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> Substring in
            isIdentifier(segment) ? "{id}" : segment
        }
        return "\(method.uppercased()) \(segments.joined(separator: "/"))"
    }

    private static func isIdentifier(_ segment: Substring) -> Bool {
        guard !segment.isEmpty else { return false }
        if segment.allSatisfy(\.isNumber) { return true }
        let hex = segment.filter { $0 != "-" }
        return hex.count >= 16 && hex.allSatisfy(\.isHexDigit)
    }
}
