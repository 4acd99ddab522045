/// Writing JSON bytes as ``EntryDocument`` writes them, without building its values.
extension NDJSONExport {
    /// `{"errorCode","errors","message"}` as `EntryDocument.errorValue` writes it.
    static func appendError(message: String?, code: String?, errors: [UInt8]?, to buffer: inout [UInt8]) {
        Self.append(#"{"errorCode":"#, to: &buffer)
        if let code {
            if let number = Int64(code), String(number) == code {
                buffer.append(contentsOf: code.utf8)
            } else {
                appendQuoted(code, to: &buffer)
            }
        } else {
            Self.append("null", to: &buffer)
        }
        Self.append(#","errors":"#, to: &buffer)
        if let errors { buffer.append(contentsOf: errors) } else { Self.append("null", to: &buffer) }
        Self.append(#","message":"#, to: &buffer)
        if let message { appendQuoted(message, to: &buffer) } else { Self.append("null", to: &buffer) }
        buffer.append(UInt8(ascii: "}"))
    }

    static func appendQuoted(_ text: String, to buffer: inout [UInt8]) {
        var text = text
        buffer.append(UInt8(ascii: "\""))
        text.withUTF8 { JSONOutput.appendEscaped($0, to: &buffer) }
        buffer.append(UInt8(ascii: "\""))
    }

    /// Bytes from a column, escaped: ASCII as it is; anything else as the `String` GRDB would make
    /// of it (invalid UTF-8 repaired), so the output is what the document writes.
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        if bytes.allSatisfy({ $0 < 0x80 }) { return JSONOutput.appendEscaped(bytes, to: &buffer) }
        var text = String(decoding: bytes, as: UTF8.self)
        text.withUTF8 { JSONOutput.appendEscaped($0, to: &buffer) }
    }

    @inline(__always)
    static func append(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    static func isUUID(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in 0..<text.count {
            let byte = text[index]
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte) else { return false }
            }
        }
        return true
    }
}
