import Foundation

extension RetryPolicy {
    /// Why a policy file could not be read, in one line.
    public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What the error is about: `the policy`, or `the policy file PATH`.
        var subject = "the policy"
        /// What is wrong with it, and where.
        let predicate: String

        init(_ predicate: String) {
            self.predicate = predicate
        }

        /// What is wrong, and where, in one line.
        public var description: String { "\(subject) \(predicate)" }
    }

    /// The policy a JSON document describes, with the defaults for what it leaves out.
    ///
    /// The keys are the policy's own property names, with durations in seconds:
    ///
    /// ```json
    /// {
    ///   "retryableStatuses": [408, 429, 500, 503, 504],
    ///   "retriesTransportFailures": true,
    ///   "baseDelay": 1, "maximumDelay": 600, "longestWait": 86400,
    ///   "maximumAttempts": 10, "maximumAge": 604800,
    ///   "neverReplayed": [{"method": "POST", "path": "/v1/auth/token"}, {"method": "POST", "path": "/v1/auth/refresh"}],
    ///   "overrides": [{"method": "POST", "path": "/v1/simulations", "replayable": false}]
    /// }
    /// ```
    ///
    /// An override takes `method`, `path` (required; a trailing `*` matches every path it prefixes),
    /// `retryableStatuses`, `retriesTransportFailures`, `maximumAttempts`, `maximumAge` and `replayable`.
    /// An unknown key, a wrong type or a value out of range is an error that names it: a typo never
    /// silently keeps a default.
    ///
    /// - Throws: ``FileError``.
    public init(json data: Data) throws {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw FileError("is not JSON")
        }
        guard case .object(let fields) = document else { throw FileError("is not a JSON object, like {\"maximumAttempts\": 5}") }
        self.init()
        let reader = FieldReader(fields: fields, at: "")
        try reader.refuseUnknownKeys(Self.policyKeys)
        if let value = try reader.statuses("retryableStatuses") { retryableStatuses = value }
        if let value = try reader.bool("retriesTransportFailures") { retriesTransportFailures = value }
        if let value = try reader.seconds("baseDelay") { baseDelay = value }
        if let value = try reader.seconds("maximumDelay") { maximumDelay = value }
        if let value = try reader.seconds("longestWait") { longestWait = value }
        if let value = try reader.attempts("maximumAttempts") { maximumAttempts = value }
        if let value = try reader.seconds("maximumAge") { maximumAge = value }
        if let items = try reader.objects("neverReplayed") {
            neverReplayed = try Set(items.map { item in
                try item.refuseUnknownKeys(["method", "path"])
                guard let method = try item.string("method"), let path = try item.string("path") else {
                    throw FileError("has \(item.location) without both \"method\" and \"path\"")
                }
                return Endpoint(method, path)
            })
        }
        if let items = try reader.objects("overrides") {
            overrides = try items.map { item in
                try item.refuseUnknownKeys(Self.overrideKeys)
                guard let path = try item.string("path") else { throw FileError("has \(item.location) without a \"path\"") }
                return Override(method: try item.string("method"), path: path, retryableStatuses: try item.statuses("retryableStatuses"),
                                retriesTransportFailures: try item.bool("retriesTransportFailures"),
                                maximumAttempts: try item.attempts("maximumAttempts"), maximumAge: try item.seconds("maximumAge"),
                                isReplayable: try item.bool("replayable"))
            }
        }
    }

    /// The policy read from the JSON file at `path`.
    ///
    /// - Throws: ``FileError``, whose description starts with the path.
    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            var error = FileError("cannot be read; check that it exists and is readable")
            error.subject = "the policy file \(path)"
            throw error
        }
        do {
            try self.init(json: data)
        } catch var error as FileError {
            error.subject = "the policy file \(path)"
            throw error
        }
    }

    /// The policy as JSON, in the form ``init(json:)`` reads: every setting, durations in seconds.
    public var json: Data {
        let document = Document(
            retryableStatuses: retryableStatuses.sorted(), retriesTransportFailures: retriesTransportFailures,
            baseDelay: baseDelay.timeInterval, maximumDelay: maximumDelay.timeInterval, longestWait: longestWait.timeInterval,
            maximumAttempts: maximumAttempts, maximumAge: maximumAge.timeInterval,
            neverReplayed: neverReplayed.sorted { ($0.path, $0.method) < ($1.path, $1.method) }.map { .init(method: $0.method, path: $0.path) },
            overrides: overrides.map { override in
                .init(method: override.method, path: override.path, retryableStatuses: override.retryableStatuses?.sorted(),
                      retriesTransportFailures: override.retriesTransportFailures, maximumAttempts: override.maximumAttempts,
                      maximumAge: override.maximumAge?.timeInterval, replayable: override.isReplayable)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Only numbers, strings and booleans: encoding cannot fail.
        return (try? encoder.encode(document)) ?? Data()
    }

    private static let policyKeys: Set<String> = [
        "retryableStatuses", "retriesTransportFailures", "baseDelay", "maximumDelay", "longestWait", "maximumAttempts",
        "maximumAge", "neverReplayed", "overrides",
    ]
    private static let overrideKeys: Set<String> = [
        "method", "path", "retryableStatuses", "retriesTransportFailures", "maximumAttempts", "maximumAge", "replayable",
    ]

    /// The JSON form, for writing.
    private struct Document: Encodable {
        struct EndpointDocument: Encodable {
            var method: String
            var path: String
        }

        struct OverrideDocument: Encodable {
            var method: String?
            var path: String
            var retryableStatuses: [Int]?
            var retriesTransportFailures: Bool?
            var maximumAttempts: Int?
            var maximumAge: Double?
            var replayable: Bool?
        }

        var retryableStatuses: [Int]
        var retriesTransportFailures: Bool
        var baseDelay: Double
        var maximumDelay: Double
        var longestWait: Double
        var maximumAttempts: Int
        var maximumAge: Double
        var neverReplayed: [EndpointDocument]
        var overrides: [OverrideDocument]
    }
}

/// Reads one JSON object's fields, each checked for its type and range, with errors that name the
/// field by its place in the document (`overrides[0].maximumAge`).
private struct FieldReader {
    let fields: [String: JSONValue]
    let at: String

    var location: String { at.isEmpty ? "its top level" : at }

    private func name(_ key: String) -> String { at.isEmpty ? key : "\(at).\(key)" }

    func refuseUnknownKeys(_ known: Set<String>) throws {
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw RetryPolicy.FileError("has an unknown key \"\(name(unknown))\"; the keys are \(known.sorted().joined(separator: ", "))")
        }
    }

    private func field(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    private func number(_ key: String) throws -> Double? {
        switch field(key) {
        case nil: return nil
        case .integer(let value)?: return Double(value)
        case .number(let value)?: return value
        default: throw RetryPolicy.FileError("has \"\(name(key))\" that is not a number")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        switch field(key) {
        case nil: return nil
        case .bool(let value)?: return value
        default: throw RetryPolicy.FileError("has \"\(name(key))\" that is not true or false")
        }
    }

    func string(_ key: String) throws -> String? {
        switch field(key) {
        case nil: return nil
        case .string(let value)? where !value.isEmpty: return value
        default: throw RetryPolicy.FileError("has \"\(name(key))\" that is not a non-empty string")
        }
    }

    /// Seconds, at least zero and at most 100 years.
    func seconds(_ key: String) throws -> Duration? {
        guard let value = try number(key) else { return nil }
        guard value.isFinite, value >= 0, value <= 100 * 365 * 86_400 else {
            throw RetryPolicy.FileError("has \"\(name(key))\" \(Self.shown(value)); durations are seconds, from 0 to 100 years")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// A number as the file would have written it: `-1`, not `-1.0`.
    private static func shown(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    func attempts(_ key: String) throws -> Int? {
        guard let value = try number(key) else { return nil }
        guard value.rounded() == value, value >= 1, value <= 1_000_000 else {
            throw RetryPolicy.FileError("has \"\(name(key))\" \(Self.shown(value)); it must be a whole number from 1")
        }
        return Int(value)
    }

    func statuses(_ key: String) throws -> Set<Int>? {
        guard let value = field(key) else { return nil }
        guard case .array(let items) = value else { throw RetryPolicy.FileError("has \"\(name(key))\" that is not an array of status codes") }
        return try Set(items.map { item in
            guard case .integer(let code) = item, (100...599).contains(code) else {
                throw RetryPolicy.FileError("has \"\(name(key))\" with an item that is not a status code from 100 to 599")
            }
            return Int(code)
        })
    }

    func objects(_ key: String) throws -> [FieldReader]? {
        guard let value = field(key) else { return nil }
        guard case .array(let items) = value else { throw RetryPolicy.FileError("has \"\(name(key))\" that is not an array of objects") }
        return try items.enumerated().map { index, item in
            guard case .object(let fields) = item else { throw RetryPolicy.FileError("has \"\(name(key))[\(index)]\" that is not an object") }
            return FieldReader(fields: fields, at: "\(name(key))[\(index)]")
        }
    }
}
