import Foundation
import Logging

extension Entry {
    /// The metadata every log line about this entry carries: bounded values, never a secret.
    var logMetadata: Logger.Metadata {
        ["picus.entry.id": "\(id)", "picus.entry.uuid": "\(uuid.uuidString.lowercased())", "picus.endpoint": "\(endpoint)"]
    }
}

extension Logger {
    /// A logger that discards everything: what the library logs to when it is given none.
    package static var disabled: Logger {
        Logger(label: "picus.journal") { _ in SwiftLogNoOpLogHandler() }
    }
}
