import Foundation

/// What became of a request sent through the ``JournaledClient``.
///
/// A delivery is returned whatever the server answered: check ``isSuccess``, or the entry's state.
/// Only a failure of the journal itself throws.
public struct Delivery: Sendable {
    /// The journal entry as it stands after the last attempt.
    public var entry: Entry
    /// The last response, with its body; nil when no response arrived.
    public var response: TransportResponse?
    /// The decoded error body of a non-2xx response.
    public var error: ErrorBody?
    /// Why no response arrived, if none did.
    public var transportError: TransportError?

    /// Whether the server answered 2xx.
    public var isSuccess: Bool { entry.state == .succeeded }

    /// Whether the entry waits in the journal for a replay.
    public var isQueued: Bool { entry.state == .queued }

    /// One line that says what happened: the entry, the status or failure, the decoded message and
    /// whether the entry was queued for replay.
    public var summary: String {
        var parts: [String] = []
        if let response {
            parts.append("HTTP \(StatusCode(response.status))")
        } else if transportError == nil, entry.state == .queued, entry.attemptCount == 0 {
            parts.append("not sent: the API asked to hold this endpoint back (rate limit or outages)")
        } else if let transportError {
            parts.append(transportError.kind == .auth ? transportError.message : "no response (\(transportError.kind.rawValue): \(transportError.historyMessage))")
        }
        if let message = error?.message, !message.isEmpty {
            var text = message
            if let errors = error?.errors { text += " \(errors.jsonText)" }
            parts.append("\u{201C}\(text.prefix(300))\u{201D}")
        }
        let fate: String = switch entry.state {
        case .succeeded: "succeeded"
        case .queued:
            "queued for replay" + (entry.dueAt.map { " at \(ISO8601.string(from: $0))" } ?? "")
        case .failed where !entry.isReplayable: "failed, not queued (this entry is never replayed)"
        case .failed: "failed, not queued (permanent)"
        case .expired: "expired, not queued (retry budget spent)"
        case .cancelled: "cancelled"
        case .pending, .inFlight: entry.state.rawValue
        }
        // One line: whatever a server or a stack said is escaped, line breaks included.
        return "entry \(entry.id) (\(entry.method) \(entry.redactedTarget)): \(parts.joined(separator: " ")); \(fate)".escapingControlCharacters
    }
}
