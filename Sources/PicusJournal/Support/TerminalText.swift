extension String {
    /// The text with every control character escaped and visible — `\e`, `\a`, `\r`, `\n`, `\t`,
    /// `\x00` … — so that a server's bytes can never retitle, clear or overwrite a person's terminal.
    ///
    /// C0 controls, DEL and the C1 range (U+0080–U+009F, which some terminals obey as escapes) are
    /// escaped; everything else is kept.
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
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
