import Foundation

/// Reads a flat JSON object of strings, `{"name":"value",…}`, straight from its bytes: the form the
/// journal stores headers in, read for every entry an export or a list shows, where `JSONDecoder`
/// cost a third of the time. Nil for anything else (nesting, numbers, invalid escapes): the caller
/// falls back to `JSONDecoder`.
package enum FlatJSONObject {
    package static func parse(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var index = 0
            func skipSpace() {
                while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                    index += 1
                }
            }
            func expect(_ byte: UInt8) -> Bool {
                skipSpace()
                guard index < bytes.count, bytes[index] == byte else { return false }
                index += 1
                return true
            }
            func hex4() -> UInt32? {
                guard index + 4 <= bytes.count else { return nil }
                var value: UInt32 = 0
                for _ in 0..<4 {
                    let byte = bytes[index]
                    let digit: UInt8
                    switch byte {
                    case 0x30...0x39: digit = byte - 0x30
                    case 0x41...0x46: digit = byte - 0x41 + 10
                    case 0x61...0x66: digit = byte - 0x61 + 10
                    default: return nil
                    }
                    value = value * 16 + UInt32(digit)
                    index += 1
                }
                return value
            }
            func string() -> String? {
                guard expect(0x22) else { return nil }
                let start = index
                // The common case: no escape, one copy.
                while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 { index += 1 }
                guard index < bytes.count else { return nil }
                if bytes[index] == 0x22 {
                    defer { index += 1 }
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                }
                var scalars = String.UnicodeScalarView()
                scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
                var run = index
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == 0x22 || byte == 0x5C {
                        scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<index]), as: UTF8.self).unicodeScalars)
                        index += 1
                        if byte == 0x22 { return String(scalars) }
                        guard index < bytes.count else { return nil }
                        let escape = bytes[index]
                        index += 1
                        switch escape {
                        case 0x22: scalars.append("\"")
                        case 0x5C: scalars.append("\\")
                        case 0x2F: scalars.append("/")
                        case 0x62: scalars.append("\u{08}")
                        case 0x66: scalars.append("\u{0C}")
                        case 0x6E: scalars.append("\n")
                        case 0x72: scalars.append("\r")
                        case 0x74: scalars.append("\t")
                        case 0x75:
                            guard let high = hex4() else { return nil }
                            if (0xD800..<0xDC00).contains(high) {
                                guard index + 2 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else { return nil }
                                index += 2
                                guard let low = hex4(), (0xDC00..<0xE000).contains(low),
                                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                                else { return nil }
                                scalars.append(scalar)
                            } else {
                                guard let scalar = Unicode.Scalar(high) else { return nil }
                                scalars.append(scalar)
                            }
                        default: return nil
                        }
                        run = index
                    } else if byte < 0x20 {
                        return nil
                    } else {
                        index += 1
                    }
                }
                return nil
            }
            guard expect(0x7B) else { return nil }
            var object: [String: String] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == 0x7D {
                index += 1
            } else {
                while true {
                    guard let name = string(), expect(0x3A), let value = string() else { return nil }
                    object[name] = value
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == 0x2C { index += 1; continue }
                    if bytes[index] == 0x7D { index += 1; break }
                    return nil
                }
            }
            skipSpace()
            return index == bytes.count ? object : nil
        }
    }
}
