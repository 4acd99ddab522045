/// What the export has already written for a stored text: most entries repeat a few header sets,
/// queries and error bodies. Bounded, so a journal of all-different values costs memory only up to the bound.
struct NDJSONMemo {
    enum Kind: UInt8 { case headers, nullHeaders, query, body, binaryBody, errors }

    private struct Key: Hashable {
        var kind: Kind
        var text: [UInt8]

        // All the bytes at once: an array of bytes hashes one `UInt8` at a time.
        func hash(into hasher: inout Hasher) {
            hasher.combine(kind)
            text.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    private var values: [Key: [UInt8]] = [:]
    private var key = Key(kind: .headers, text: [])
    private var size = 0
    private static let maximumSize = 2 * 1024 * 1024
    private static let maximumCount = 4096
    private static let maximumTextSize = 4096

    mutating func value(for text: UnsafeBufferPointer<UInt8>, kind: Kind, make: () -> [UInt8]) -> [UInt8] {
        guard text.count <= Self.maximumTextSize else { return make() }
        key.kind = kind
        key.text.removeAll(keepingCapacity: true)
        key.text.append(contentsOf: text)
        if let value = values[key] { return value }
        let value = make()
        if size + key.text.count + value.count <= Self.maximumSize, values.count < Self.maximumCount {
            values[key] = value
            size += key.text.count + value.count
        }
        return value
    }
}
