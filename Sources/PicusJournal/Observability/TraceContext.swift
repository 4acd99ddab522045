import Foundation
import Tracing

/// A caller's trace context as the journal keeps it: the propagation fields its tracer injects
/// (W3C `traceparent` and `tracestate` with OpenTelemetry), so that a replay hours later, in
/// another process, continues the same trace.
///
/// The client stores the context of the task that called ``JournaledClient/send(_:)`` or
/// ``JournaledClient/enqueue(_:)``: what the configured tracer injects from
/// `ServiceContext.current`, or, with no tracer bootstrapped, a context set under
/// `ServiceContext.picusTraceContext` — which is how the CLI passes on `TRACEPARENT` and
/// `TRACESTATE` from its environment:
///
/// ```swift
/// var context = ServiceContext.current ?? .topLevel
/// context.picusTraceContext = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
/// try await ServiceContext.withValue(context) { try await client.send(request) }
/// ```
public struct TraceContext: Sendable, Hashable {
    /// The propagation fields, names in lower case: `traceparent`, `tracestate`, or whatever the
    /// tracer propagates.
    public private(set) var fields: [String: String]

    /// At most this many fields are kept, each name and value bounded: a context is metadata, not payload.
    static let maximumFieldCount = 8
    static let maximumValueLength = 512

    /// A W3C trace context; nil when `traceparent` is not a valid W3C `traceparent`.
    ///
    /// - Parameters:
    ///   - traceparent: `VERSION-TRACEID-PARENTID-FLAGS`, such as
    ///     `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`.
    ///   - tracestate: The vendor state; dropped (the trace kept) when it is not printable ASCII of at most 512 characters.
    public init?(traceparent: String, tracestate: String? = nil) {
        let traceparent = traceparent.trimmingCharacters(in: .whitespaces)
        guard Self.traceID(ofTraceparent: traceparent) != nil else { return nil }
        var fields = ["traceparent": traceparent]
        if let tracestate = tracestate?.trimmingCharacters(in: .whitespaces), !tracestate.isEmpty,
            Self.isPlainValue(tracestate)
        {
            fields["tracestate"] = tracestate
        }
        self.fields = fields
    }

    /// The propagation fields a tracer injected; nil when none is fit to keep. A `traceparent` that
    /// is not valid W3C is dropped.
    package init?(fields: [String: String]) {
        var kept: [String: String] = [:]
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) where kept.count < Self.maximumFieldCount {
            let name = name.lowercased()
            guard Self.isFieldName(name), Self.isPlainValue(value) else { continue }
            if name == "traceparent", Self.traceID(ofTraceparent: value) == nil { continue }
            kept[name] = value
        }
        guard !kept.isEmpty else { return nil }
        self.fields = kept
    }

    /// The caller's context from `TRACEPARENT` and `TRACESTATE` (OpenTelemetry's environment-variable
    /// carrier); nil when `TRACEPARENT` is unset or invalid.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> TraceContext? {
        guard let traceparent = environment["TRACEPARENT"] else { return nil }
        return TraceContext(traceparent: traceparent, tracestate: environment["TRACESTATE"])
    }

    /// The W3C trace id (32 lower-case hex digits), when the context carries a valid `traceparent`.
    public var traceID: String? {
        fields["traceparent"].flatMap(Self.traceID(ofTraceparent:))
    }

    /// The W3C `traceparent`, if any.
    public var traceparent: String? { fields["traceparent"] }

    /// The W3C `tracestate`, if any.
    public var tracestate: String? { fields["tracestate"] }

    /// The trace id of a valid W3C `traceparent`: version 00 exactly, later versions by their
    /// first four fields; never the all-zero trace or parent id, never version ff.
    static func traceID(ofTraceparent value: String) -> String? {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4,
            parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.prefix(4).allSatisfy({ $0.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) } }),
            parts[0] != "ff", parts[1] != String(repeating: "0", count: 32), parts[2] != String(repeating: "0", count: 16)
        else { return nil }
        if parts[0] == "00", parts.count != 4 { return nil }
        return String(parts[1])
    }

    private static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// Printable ASCII, bounded: no control character or newline can ride a context into a header or a terminal.
    private static func isPlainValue(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= maximumValueLength && value.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }
}

extension TraceContext: Codable {
    /// Decodes the fields from a JSON object.
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.singleValueContainer().decode([String: String].self)
        guard let context = TraceContext(fields: fields) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no trace context field"))
        }
        self = context
    }

    /// Encodes the fields as a JSON object.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fields)
    }
}

private enum PicusTraceContextKey: ServiceContextKey {
    typealias Value = TraceContext
    static let nameOverride: String? = "picus-trace-context"
}

extension ServiceContext {
    /// A caller's trace context for the journal to keep when no tracer is bootstrapped (or the
    /// tracer finds no span): how the CLI passes on `TRACEPARENT` from its environment.
    public var picusTraceContext: TraceContext? {
        get { self[PicusTraceContextKey.self] }
        set { self[PicusTraceContextKey.self] = newValue }
    }
}

/// Reads and writes propagation fields in a plain dictionary.
struct DictionaryCarrier: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key.lowercased()] = value
    }

    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key.lowercased()]
    }
}
