import Foundation

/// A JSON value of any shape, as a server sent it.
///
/// The Picus error envelope's `errors` field is documented as an object, shown as an array and
/// sometimes sent as a string; `JSONValue` keeps whichever arrived without losing anything.
public enum JSONValue: Sendable, Hashable, Codable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without a fraction or exponent that fits 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as the JSON it stands for.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON text; `nil` when the data is not JSON.
    public init?(parsing data: Data) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        self = value
    }

    /// The value as compact JSON text with sorted keys.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A short human reading: strings bare, everything else as JSON text.
    public var displayText: String {
        switch self {
        case .string(let value): value
        case .integer(let value): String(value)
        case .bool(let value): String(value)
        case .null: "null"
        default: jsonText
        }
    }
}

extension JSONValue {
    /// The value with every spelling of the matcher's secrets removed from its strings and keys.
    func scrubbingStrings(_ matcher: SecretMatcher) -> JSONValue {
        switch self {
        case .string(let text): .string(Redactor.scrub(text, matcher: matcher))
        case .array(let items): .array(items.map { $0.scrubbingStrings(matcher) })
        case .object(let fields):
            .object(Dictionary(fields.map { (Redactor.scrub($0.key, matcher: matcher), $0.value.scrubbingStrings(matcher)) },
                               uniquingKeysWith: { first, _ in first }))
        default: self
        }
    }
}
