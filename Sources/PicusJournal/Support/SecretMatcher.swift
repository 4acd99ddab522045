import Foundation

/// Finds held secrets in bytes by what the bytes *say*, not only by how they are spelled.
///
/// A server that echoes a token may write it as it is, with JSON escapes (`\/`, `\u0041`, or a JSON
/// string inside a JSON string: `\\\/`), percent-encoded (`%2F`), or as HTML character references
/// (`&#47;`, `&#x2f;`, `&sol;`), and may mix these character by character. The matcher reads each
/// character of a secret in any of those spellings, so every one of them is found; a byte comparison
/// finds only the first.
///
/// A body cut short (by the error-body cap, or a connection that dropped) may end in the middle of a
/// secret: with `isCut`, a tail that spells the first characters of a secret is found too.
package struct SecretMatcher: Sendable {
    /// The secrets, as Unicode scalars, longest first: a secret that contains another is found whole.
    private let secrets: [[Unicode.Scalar]]
    /// Which bytes may start a spelling of some secret: its first character's first byte, or an escape.
    private let startsSpelling: [Bool]
    /// A match of a cut secret's first characters must spell at least this many of them.
    static let shortestCutPrefix = 4
    /// Shorter values are not treated as secrets: too likely to occur by chance.
    static let shortestSecret = 8

    package init(_ secrets: [String]) {
        self.secrets = Set(secrets).filter { $0.utf8.count >= Self.shortestSecret }
            .map { Array($0.unicodeScalars) }
            .sorted { $0.count > $1.count }
        var starts = [Bool](repeating: false, count: 256)
        for byte in [UInt8(ascii: "\\"), UInt8(ascii: "%"), UInt8(ascii: "&")] { starts[Int(byte)] = true }
        for secret in self.secrets { starts[Int(Self.utf8(secret[0]).first ?? 0)] = true }
        startsSpelling = starts
    }

    /// Whether there is nothing to look for.
    var isEmpty: Bool { secrets.isEmpty }

    /// The byte ranges that spell a secret, in order and not overlapping.
    func ranges(in bytes: UnsafeBufferPointer<UInt8>, isCut: Bool) -> [Range<Int>] {
        guard !secrets.isEmpty else { return [] }
        var found: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            var end: Int?
            if startsSpelling[Int(bytes[start])] {
                for secret in secrets {
                    if let matched = match(secret, in: bytes, at: start, isCut: isCut) {
                        end = max(end ?? matched, matched)
                    }
                }
            }
            if let end {
                found.append(start..<end)
                start = end
            } else {
                start += 1
            }
        }
        return found
    }

    /// Where a spelling of `secret` that starts at `start` ends; nil when none starts there.
    private func match(_ secret: [Unicode.Scalar], in bytes: UnsafeBufferPointer<UInt8>, at start: Int, isCut: Bool) -> Int? {
        var index = start
        for (count, scalar) in secret.enumerated() {
            guard index < bytes.count else {
                return isCut && count >= min(Self.shortestCutPrefix, secret.count) ? index : nil
            }
            guard let next = Self.consume(scalar, in: bytes, at: index) else {
                // A spelling cut in the middle of its own escape (`\u00`) at the very end counts as cut too.
                if isCut, count >= min(Self.shortestCutPrefix, secret.count), Self.isEscapePrefix(bytes, from: index) { return bytes.count }
                return nil
            }
            index = next
        }
        return index
    }

    /// Where one spelling of `scalar` that starts at `index` ends.
    private static func consume(_ scalar: Unicode.Scalar, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        if let end = literal(scalar, in: bytes, at: index) { return end }
        switch bytes[index] {
        case UInt8(ascii: "\\"): return escaped(scalar, in: bytes, at: index)
        case UInt8(ascii: "%"): return percentEncoded(scalar, in: bytes, at: index)
        case UInt8(ascii: "&"): return characterReference(scalar, in: bytes, at: index)
        default: return nil
        }
    }

    private static func literal(_ scalar: Unicode.Scalar, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        var end = index
        for byte in utf8(scalar) {
            guard end < bytes.count, bytes[end] == byte else { return nil }
            end += 1
        }
        return end
    }

    /// A run of backslashes (one per level of JSON nesting), then the character itself (for one
    /// that JSON may escape as is, `\/`) or `uXXXX` (a surrogate pair for a scalar past the BMP).
    private static func escaped(_ scalar: Unicode.Scalar, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        var end = index
        while end < bytes.count, bytes[end] == UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count else { return nil }
        if bytes[end] != UInt8(ascii: "u") {
            let isPunctuation = scalar.isASCII && !scalar.properties.isAlphabetic && !("0"..."9").contains(scalar)
            return isPunctuation && bytes[end] == UInt8(scalar.value) ? end + 1 : nil
        }
        guard let (unit, afterUnit) = hexUnit(in: bytes, at: end + 1) else { return nil }
        if unit == scalar.value { return afterUnit }
        // A scalar past the BMP is a surrogate pair: `\uD83D\uDE00`.
        let utf16 = Array(scalar.utf16)
        guard utf16.count == 2, unit == UInt32(utf16[0]) else { return nil }
        var low = afterUnit
        while low < bytes.count, bytes[low] == UInt8(ascii: "\\") { low += 1 }
        guard low > afterUnit, low < bytes.count, bytes[low] == UInt8(ascii: "u"),
            let (second, end) = hexUnit(in: bytes, at: low + 1), second == UInt32(utf16[1])
        else { return nil }
        return end
    }

    /// Four hex digits at `index`: their value, and where they end.
    private static func hexUnit(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int)? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = hexValue(bytes[index + offset]) else { return nil }
            value = value << 4 | digit
        }
        return (value, index + 4)
    }

    /// `%HH` for each UTF-8 byte of the scalar.
    private static func percentEncoded(_ scalar: Unicode.Scalar, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        var end = index
        for byte in utf8(scalar) {
            if end < bytes.count, bytes[end] == byte, byte != UInt8(ascii: "%") {
                end += 1
                continue
            }
            guard end + 3 <= bytes.count, bytes[end] == UInt8(ascii: "%"),
                let high = hexValue(bytes[end + 1]), let low = hexValue(bytes[end + 2]), UInt8(high << 4 | low) == byte
            else { return nil }
            end += 3
        }
        return end
    }

    private static let namedReferences: [String: Unicode.Scalar] = [
        "sol": "/", "plus": "+", "equals": "=", "amp": "&", "quot": "\"", "apos": "'", "lt": "<", "gt": ">",
        "period": ".", "lowbar": "_", "hyphen": "-", "dash": "-", "colon": ":", "tilde": "~", "num": "#",
    ]

    /// `&#NN;`, `&#xHH;` or a named reference such as `&sol;`.
    private static func characterReference(_ scalar: Unicode.Scalar, in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        var end = index + 1
        var name: [UInt8] = []
        while end < bytes.count, bytes[end] != UInt8(ascii: ";"), name.count < 12 {
            name.append(bytes[end])
            end += 1
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";"), !name.isEmpty else { return nil }
        let text = String(decoding: name, as: UTF8.self)
        let value: UInt32?
        if text.hasPrefix("#x") || text.hasPrefix("#X") {
            value = UInt32(text.dropFirst(2), radix: 16)
        } else if text.hasPrefix("#") {
            value = UInt32(text.dropFirst(), radix: 10)
        } else {
            value = namedReferences[text].map(\.value)
        }
        return value == scalar.value ? end + 1 : nil
    }

    /// Whether the bytes from `index` to the end are the start of an escape that was cut off.
    private static func isEscapePrefix(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int) -> Bool {
        let tail = bytes.count - index
        guard tail > 0, tail <= 12 else { return false }
        let first = bytes[index]
        guard first == UInt8(ascii: "\\") || first == UInt8(ascii: "%") || first == UInt8(ascii: "&") else { return false }
        return (index..<bytes.count).allSatisfy { bytes[$0] != UInt8(ascii: ";") && bytes[$0] != UInt8(ascii: " ") }
    }

    private static func utf8(_ scalar: Unicode.Scalar) -> String.UTF8View {
        String(scalar).utf8
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
