extension String {
    /// The text with every control character escaped and visible — `\e`, `\a`, `\r`, `\n`, `\t`,
    /// `\x00`, `\u{202e}` … — so that a server's bytes can never retitle, clear or overwrite a
    /// person's terminal, nor make what it shows read differently from what it holds.
    ///
    /// Escaped: C0 controls (NUL included), DEL, the C1 range (U+0080–U+009F, which some terminals
    /// obey as escapes), the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
    /// U+2066–U+2069, which reorder the text around them: a "Trojan Source" path or message) and the
    /// line and paragraph separators (U+2028, U+2029). Everything else is kept.
    package var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: Self.isControl) else { return self }
        var result = ""
        result.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            guard Self.isControl(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar.value {
            case 0x1B: result += "\\e"
            case 0x07: result += "\\a"
            case 0x0D: result += "\\r"
            case 0x0A: result += "\\n"
            case 0x09: result += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                result += scalar.value > 0xFF ? "\\u{\(hex)}" : "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }

    /// Like ``escapingControlCharacters``, but keeps line breaks: for text of several lines of our own
    /// that may quote a server.
    package var escapingControlCharactersExceptNewlines: String {
        split(separator: "\n", omittingEmptySubsequences: false).map { String($0).escapingControlCharacters }.joined(separator: "\n")
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
