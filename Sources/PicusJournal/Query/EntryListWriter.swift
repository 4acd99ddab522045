import Foundation

/// Writes the list form of entries — `list --format json`, `ndjson` or `csv` — a batch at a time,
/// so that listing many entries takes bounded memory.
///
/// The bytes are those of ``EntryDocument/json(_:pretty:)`` (and a line break),
/// ``EntryDocument/ndjson(_:)`` and ``EntryDocument/csv(_:)`` for all the entries at once: a reader
/// cannot tell the two apart.
package struct EntryListWriter {
    /// The machine-readable forms of a list.
    package enum Format: Sendable {
        case json, ndjson, csv
    }

    private let format: Format
    private let write: (Data) throws -> Void
    /// How many elements the JSON array has so far.
    private var count = 0
    /// Whether CSV leads with `agent`, decided by the first batch: a fleet store's entries all have one.
    private var withAgent: Bool?
    /// The encoders of ``EntryDocument/json(_:pretty:)`` and ``EntryDocument/ndjson(_:)``.
    private let prettyEncoder = EntryDocument.encoder(pretty: true)
    private let lineEncoder = EntryDocument.encoder(pretty: false)

    /// A writer that hands its output to `write`, a batch's worth at a time.
    package init(format: Format, write: @escaping (Data) throws -> Void) {
        self.format = format
        self.write = write
    }

    /// Writes a batch of entries, in order.
    package mutating func add(_ entries: [Entry]) throws {
        guard !entries.isEmpty else { return }
        var output: [UInt8] = []
        switch format {
        case .json:
            for entry in entries {
                output.append(contentsOf: (count == 0 ? "[\n" : ",\n").utf8)
                // An element of Foundation's pretty-printed array is the document pretty-printed alone,
                // each line indented by two spaces; the empty line inside `[]` and `{}` stays empty.
                Self.appendIndented(try prettyEncoder.encode(EntryDocument(entry)), to: &output)
                count += 1
            }
        case .ndjson:
            for entry in entries {
                output.append(contentsOf: try lineEncoder.encode(EntryDocument(entry)))
                output.append(UInt8(ascii: "\n"))
            }
        case .csv:
            if withAgent == nil {
                let withAgent = entries.contains { $0.agent != nil }
                self.withAgent = withAgent
                output.append(contentsOf: EntryDocument.csvHeader(withAgent: withAgent).utf8)
            }
            for entry in entries {
                output.append(contentsOf: EntryDocument.csvRow(entry, withAgent: withAgent ?? false).utf8)
            }
        }
        try write(Data(output))
    }

    /// Ends the list: the JSON array's close, or the CSV header of a list with no entries.
    package mutating func end() throws {
        switch format {
        case .json:
            try write(Data((count == 0 ? "[]\n" : "\n]\n").utf8))
        case .ndjson:
            break
        case .csv:
            if withAgent == nil { try write(Data(EntryDocument.csvHeader(withAgent: false).utf8)) }
        }
    }

    private static func appendIndented(_ json: Data, to output: inout [UInt8]) {
        let newline = UInt8(ascii: "\n")
        var atLineStart = true
        for byte in json {
            if atLineStart, byte != newline { output.append(contentsOf: [0x20, 0x20]) }
            output.append(byte)
            atLineStart = byte == newline
        }
    }
}
