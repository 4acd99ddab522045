import Foundation
import Logging
import PicusJournal

/// The CLI's log output: one line per event on stderr, as text for people or JSON for journald, Loki
/// and the like. Set with `--log-level` (else `$LOG_LEVEL`, else `warning`) and `--log-format text|json`.
struct CLILogHandler: LogHandler {
    enum Format: String {
        case text, json
    }

    let label: String
    let format: Format
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let time = ISO8601.string(from: Date())
        let line: String
        switch format {
        case .text:
            let pairs = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(time) \(event.level) \(label): \(event.message)\(pairs.isEmpty ? "" : " " + pairs)".escapingControlCharacters
        case .json:
            var object: [String: String] = ["time": time, "level": "\(event.level)", "label": label, "message": "\(event.message)"]
            for (key, value) in fields { object[key] = "\(value)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            line = (try? encoder.encode(object)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }
}

/// `--log-level` and `--log-format`, accepted anywhere on the command line and taken out before the
/// subcommand is parsed: logging is set up before anything logs.
enum LoggingSetup {
    /// Bootstraps the logging system from the arguments and `$LOG_LEVEL`; returns the other arguments.
    static func bootstrap(_ arguments: [String]) throws -> [String] {
        var rest: [String] = []
        var level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
        var format = CLILogHandler.Format.text
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            let (name, inline) = argument.split(separator: "=", maxSplits: 1).map(String.init).splitPair
            guard name == "--log-level" || name == "--log-format" else {
                rest.append(argument)
                index += 1
                continue
            }
            var value = inline
            if value == nil, index + 1 < arguments.endIndex {
                index += 1
                value = arguments[index]
            }
            index += 1
            if name == "--log-level" {
                guard let parsed = value.flatMap({ Logger.Level(rawValue: $0.lowercased()) }) else {
                    throw LoggingSetupError("--log-level takes one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                level = parsed
            } else {
                guard let parsed = value.flatMap(CLILogHandler.Format.init(rawValue:)) else {
                    throw LoggingSetupError("--log-format takes text or json")
                }
                format = parsed
            }
        }
        let (chosenFormat, chosenLevel) = (format, level)
        LoggingSystem.bootstrap { label in CLILogHandler(label: label, format: chosenFormat, logLevel: chosenLevel) }
        return rest
    }
}

/// A bad `--log-level` or `--log-format`: a usage error.
struct LoggingSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == String {
    /// The first element and, if any, the second.
    fileprivate var splitPair: (String, String?) { (first ?? "", count > 1 ? self[1] : nil) }
}
