import Foundation

/// The machine-readable form of an entry: one element of `picus-journal list --format json`.
///
/// This is a documented, stable contract. Every key is always present; absent values are `null`.
/// Times are ISO 8601 in UTC with milliseconds; `path` is the path as requested, query included.
///
/// ```json
/// {"id":3,"uuid":"…","createdAt":"2026-11-25T09:00:00.000Z","method":"GET","path":"/v1/simulations?limit=1000",
///  "state":"failed","status":422,"transportError":null,"attempts":1,
///  "error":{"message":"validation error","errorCode":null,"errors":{"limit":"tag=max, param=50, given value=1000"}},
///  "nextAttemptAt":null}
/// ```
public struct EntryDocument: Encodable, Sendable {
    /// The entry.
    public var entry: Entry
    /// Its attempts, for `show`; nil leaves the `attempts` count alone (the list form).
    public var attempts: [Attempt]?

    /// The document of an entry, with its attempts for the detailed form.
    public init(_ entry: Entry, attempts: [Attempt]? = nil) {
        self.entry = entry
        self.attempts = attempts
    }

    /// Encodes the list form, or with attempts the detailed form, as documented above.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        for field in fields {
            if let value = field.value(self) { try container.encode(value, forKey: FieldKey(field.key)) }
        }
    }

    /// The fields of this document: the list form, or with attempts the detailed form.
    private var fields: [DocumentField<EntryDocument>] { attempts == nil ? Self.listFields : Self.detailFields }

    /// Encodes documents as JSON text: an array, `[]` when empty.
    public static func json(_ documents: [EntryDocument], pretty: Bool = true) throws -> String {
        // Foundation pretty-prints an empty array over three lines.
        documents.isEmpty ? "[]" : try jsonText(documents, pretty: pretty)
    }

    /// Encodes one document as JSON text.
    public static func json(_ document: EntryDocument, pretty: Bool = true) throws -> String {
        try jsonText(document, pretty: pretty)
    }

    private static func jsonText(_ value: some Encodable, pretty: Bool) throws -> String {
        String(decoding: try encoder(pretty: pretty).encode(value), as: UTF8.self)
    }

    /// The encoder of every JSON form of a document: sorted keys, slashes as they are, pretty or one line.
    package static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// One field of a document: its key, and its value for a source (nil leaves the key out).
struct DocumentField<Source>: Sendable {
    let key: String
    let value: @Sendable (Source) -> JSONValue?

    init(_ key: String, _ value: @escaping @Sendable (Source) -> JSONValue?) {
        self.key = key
        self.value = value
    }
}

/// A coding key for a field's name.
private struct FieldKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The one description of each document: every writer — the `Encodable` form behind `list` and
/// `show --format json`, the export's hand-written JSON and NDJSON, and CSV — iterates these lists.
extension EntryDocument {
    /// The list form's fields, in key order.
    static let listFields: [DocumentField<EntryDocument>] = [
        // Only in documents read from a fleet store: which agent's journal the entry came from.
        DocumentField("agent") { $0.entry.agent.map { .string($0) } },
        DocumentField("attempts") { .integer(Int64($0.entry.attemptCount)) },
        DocumentField("createdAt") { .string(ISO8601.string(from: $0.entry.createdAt)) },
        DocumentField("error") { document in
            document.entry.lastError.map { errorValue(message: $0.message, errorCode: $0.errorCode, errors: $0.errors) } ?? .null
        },
        DocumentField("id") { .integer($0.entry.id) },
        DocumentField("method") { .string($0.entry.method) },
        DocumentField("nextAttemptAt") { optional($0.entry.nextAttemptAt.map { .string(ISO8601.string(from: $0)) }) },
        DocumentField("path") { .string($0.entry.redactedTarget) },
        DocumentField("state") { .string($0.entry.state.rawValue) },
        DocumentField("status") { optional($0.entry.lastStatus.map { .integer(Int64($0)) }) },
        DocumentField("transportError") { optional($0.entry.lastTransportError.map { .string($0.rawValue) }) },
        DocumentField("uuid") { .string($0.entry.uuid.uuidString.lowercased()) },
    ]

    /// The detailed form's fields, in key order: the list form's and the entry's history.
    static let detailFields: [DocumentField<EntryDocument>] = (listFields + [
        DocumentField("history") { .array(($0.attempts ?? []).map(attemptValue)) },
        DocumentField("leaseExpiresAt") { optional($0.entry.leaseExpiresAt.map { .string(ISO8601.string(from: $0)) }) },
        DocumentField("leaseOwner") { optional($0.entry.leaseOwner.map { .string($0) }) },
        DocumentField("requestBody") { optional($0.entry.requestBody.map { .string(String(decoding: Redactor.body($0), as: UTF8.self)) }) },
        DocumentField("requestHeaders") { headersValue(Redactor.headers($0.entry.requestHeaders)) },
        DocumentField("traceId") { optional($0.entry.traceContext?.traceID.map { .string($0) }) },
        DocumentField("updatedAt") { .string(ISO8601.string(from: $0.entry.updatedAt)) },
    ]).sorted { $0.key < $1.key }

    /// The fields of one attempt in the detailed form, in key order.
    static let attemptFields: [DocumentField<Attempt>] = [
        DocumentField("body") { attempt in
            attempt.error.map { error in
                let raw = Redactor.body(error.raw)
                return .string(error.kind == .binary ? raw.base64EncodedString() : String(decoding: raw, as: UTF8.self))
            }
        },
        DocumentField("bodyKind") { $0.error.map { .string($0.kind.rawValue) } },
        DocumentField("bodySize") { $0.error.map { .integer(Int64($0.size)) } },
        DocumentField("durationMs") { .number(($0.durationMs * 1000).rounded() / 1000) },
        DocumentField("error") { attempt in
            attempt.error.map { errorValue(message: $0.message, errorCode: $0.errorCode, errors: $0.errors) } ?? .null
        },
        DocumentField("number") { .integer(Int64($0.number)) },
        DocumentField("outcome") { .string($0.outcome.rawValue) },
        DocumentField("rateLimit") { attempt in
            guard attempt.rateLimitLimit != nil || attempt.rateLimitReset != nil else { return .null }
            return .object([
                "limit": optional(attempt.rateLimitLimit.map { .integer(Int64($0)) }),
                "remaining": optional(attempt.rateLimitRemaining.map { .integer(Int64($0)) }),
                "reset": optional(attempt.rateLimitReset.map { .integer($0) }),
            ])
        },
        DocumentField("responseHeaders") { headersValue(Redactor.headers($0.responseHeaders)) },
        DocumentField("retryAfterMs") { optional($0.retryAfterMs.map { .integer($0) }) },
        DocumentField("startedAt") { .string(ISO8601.string(from: $0.startedAt)) },
        DocumentField("status") { optional($0.status.map { .integer(Int64($0)) }) },
        DocumentField("transportError") { optional($0.transportError.map { .string($0.rawValue) }) },
    ]

    /// `{"errorCode","errors","message"}`: `errorCode` is a number when the server sent one, else a string.
    static func errorValue(message: String?, errorCode: String?, errors: JSONValue?) -> JSONValue {
        let code: JSONValue = errorCode.map { code in
            if let number = Int64(code), String(number) == code { return .integer(number) }
            return .string(code)
        } ?? .null
        return .object(["errorCode": code, "errors": errors ?? .null, "message": optional(message.map { .string($0) })])
    }

    private static func attemptValue(_ attempt: Attempt) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for field in attemptFields {
            if let value = field.value(attempt) { object[field.key] = value }
        }
        return .object(object)
    }

    private static func headersValue(_ headers: [String: String]) -> JSONValue {
        .object(headers.mapValues { .string($0) })
    }

    private static func optional(_ value: JSONValue?) -> JSONValue { value ?? .null }

    /// The detailed form as one compact line of JSON, for exports: the same fields, through the
    /// export's fast writer.
    func appendJSON(to output: inout JSONOutput) {
        output.beginObject()
        for field in fields {
            if field.key == "history", let attempts {
                // Written straight out, field by field in key order: no tree of values per attempt.
                output.key("history")
                output.beginArray()
                for attempt in attempts {
                    output.beginObject()
                    for attemptField in Self.attemptFields {
                        guard let value = attemptField.value(attempt) else { continue }
                        output.key(attemptField.key)
                        output.value(value)
                    }
                    output.endObject()
                }
                output.endArray()
                continue
            }
            guard let value = field.value(self) else { continue }
            output.key(field.key)
            output.value(value)
        }
        output.endObject()
    }
}

extension EntryDocument {
    /// The list form of entries as NDJSON: one `list --format json` object per line.
    public static func ndjson(_ entries: [Entry]) throws -> String {
        let encoder = encoder(pretty: false)
        return try entries.map { String(decoding: try encoder.encode(EntryDocument($0)), as: UTF8.self) + "\n" }.joined()
    }

    /// The columns of `list --format csv`, in order: the list form's fields, with `error` spread
    /// over three columns.
    public static let csvColumns = [
        "id", "uuid", "createdAt", "method", "path", "state", "status", "transportError", "attempts", "errorMessage",
        "errorCode", "errors", "nextAttemptAt",
    ]

    /// The list form of entries as CSV (RFC 4180, formulas neutralised), with a header row: each row
    /// is the list document's values, so the two never disagree.
    public static func csv(_ entries: [Entry]) -> String {
        // Entries from a fleet store lead with their agent.
        let withAgent = entries.contains { $0.agent != nil }
        return csvHeader(withAgent: withAgent) + entries.map { csvRow($0, withAgent: withAgent) }.joined()
    }

    /// The header row of `list --format csv`, line break included.
    static func csvHeader(withAgent: Bool) -> String {
        ((withAgent ? ["agent"] : []) + csvColumns).joined(separator: ",") + "\r\n"
    }

    /// One entry's row of `list --format csv`, line break included.
    static func csvRow(_ entry: Entry, withAgent: Bool) -> String {
        let document = EntryDocument(entry)
        var values: [String: JSONValue] = [:]
        for field in listFields { values[field.key] = field.value(document) }
        var error: [String: JSONValue] = [:]
        if case .object(let fields)? = values["error"] { error = fields }
        values["errorMessage"] = error["message"]
        values["errorCode"] = error["errorCode"]
        values["errors"] = error["errors"]
        let columns = (withAgent ? ["agent"] : []) + csvColumns
        return columns.map { CSV.field(csvText(values[$0])) }.joined(separator: ",") + "\r\n"
    }

    /// A value as CSV text: strings as they are, numbers in JSON form, null empty, the rest as JSON.
    private static func csvText(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let text)?: text
        case .integer(let number)?: String(number)
        case let value?: value.jsonText
        }
    }
}
