import Foundation
import PicusJournal

/// Whether to colour output: only on a terminal, and never with NO_COLOR set.
enum Terminal {
    static var usesColor: Bool {
        if let noColor = ProcessInfo.processInfo.environment["NO_COLOR"], !noColor.isEmpty { return false }
        return isatty(STDOUT_FILENO) == 1
    }
}

/// Cuts or pads text to a width, marking a cut with an ellipsis. Control characters (a server's
/// escape codes, line breaks) are escaped and visible: a table cell is one line of plain text.
func fit(_ text: String, _ width: Int, right: Bool = false) -> String {
    let plain = plainText(text)
    let text = plain.count > width ? String(plain.prefix(max(0, width - 1))) + "…" : plain
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

private let timeFormat = Date.VerbatimFormatStyle(
    format: "\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits)",
    timeZone: .gmt, calendar: Calendar(identifier: .gregorian))

/// The `list` table: fits 80 columns.
struct EntryTable {
    let entries: [Entry]
    let colors: Bool

    func render() -> String {
        guard !entries.isEmpty else { return "No entries.\n" }
        // 5+1+11+1+6+1+20+1+9+1+6+1 = 63 columns before the error: 17 left of 80. An id is never
        // cut (it is what `show` takes): a wider one takes its columns from the error.
        let idWidth = max(5, entries.map { String($0.id).count }.max() ?? 0)
        let errorWidth = max(8, 17 - (idWidth - 5))
        // Entries from a fleet store lead with their agent.
        let withAgent = entries.contains { $0.agent != nil }
        var lines = ["\(withAgent ? fit("AGENT", 12) + " " : "")\(fit("ID", idWidth, right: true)) \(fit("CREATED UTC", 11)) \(fit("METHOD", 6)) \(fit("PATH", 20)) \(fit("STATE", 9)) \(fit("STATUS", 6)) ERROR"]
        for entry in entries {
            let status = entry.lastStatus.map(String.init) ?? entry.lastTransportError?.rawValue ?? "-"
            let error = plainText(entry.lastErrorMessage ?? "")
            let state = fit(entry.state.rawValue, 9)
            let agent = withAgent ? fit(plainText(entry.agent ?? "-"), 12) + " " : ""
            lines.append("\(agent)\(fit(String(entry.id), idWidth, right: true)) \(timeFormat.format(entry.createdAt)) \(fit(entry.method, 6)) \(fit(entry.redactedTarget, 20)) \(colors ? paint(state, entry.state) : state) \(fit(status, 6)) \(error.count > errorWidth ? fit(error, errorWidth) : error)")
        }
        return lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n") + "\n"
    }

    private func paint(_ text: String, _ state: EntryState) -> String {
        let code = switch state {
        case .succeeded: "32"
        case .failed, .expired: "31"
        case .queued, .inFlight, .pending: "33"
        case .cancelled: "90"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}

/// The `show` text: the entry, then each attempt.
struct EntryDetail {
    let entry: Entry
    let attempts: [Attempt]

    func render() -> String {
        var lines = [
            "Entry \(entry.id)  \(entry.method) \(entry.redactedTarget.escapingControlCharacters)",
            "  uuid (Idempotency-Key)  \(entry.uuid.uuidString.lowercased())",
            "  created                 \(ISO8601String(entry.createdAt))",
            "  state                   \(entry.state.rawValue)",
            "  attempts                \(entry.attemptCount)",
        ]
        if let next = entry.nextAttemptAt { lines.append("  next attempt            \(ISO8601String(next))") }
        if let body = entry.requestBody, !body.isEmpty {
            lines.append("  request body            \(String(decoding: Redactor.body(body).prefix(500), as: UTF8.self).escapingControlCharacters)")
        }
        for attempt in attempts {
            let result = attempt.status.map { "HTTP \(StatusCode($0))" } ?? "no response (\(attempt.transportError?.rawValue ?? "?"))"
            lines.append("")
            lines.append("  Attempt \(attempt.number)  \(ISO8601String(attempt.startedAt))  \(String(format: "%.1f", attempt.durationMs)) ms  \(result)  → \(attempt.outcome.rawValue)")
            if let error = attempt.error {
                if let message = error.message { lines.append("    message     \(message.escapingControlCharacters)") }
                if let code = error.errorCode { lines.append("    error_code  \(code.escapingControlCharacters)") }
                if let errors = error.errors { lines.append("    errors      \(errors.jsonText.escapingControlCharacters)") }
                if attempt.status != nil {
                    lines.append("    body        \(error.kind.rawValue), \(error.size) bytes\(error.isTruncated ? " (kept \(error.raw.count))" : "")")
                }
            }
            if let retryAfter = attempt.retryAfterMs { lines.append("    retry-after \(retryAfter) ms") }
            if let limit = attempt.rateLimitLimit {
                lines.append("    rate limit  \(attempt.rateLimitRemaining.map(String.init) ?? "?")/\(limit) left, resets \(attempt.rateLimitReset.map { ISO8601String(Date(timeIntervalSince1970: TimeInterval($0))) } ?? "?")")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

func ISO8601String(_ date: Date) -> String {
    ISO8601.string(from: date)
}

/// The text on one line with its control characters (escape codes, line breaks) escaped and visible.
func plainText(_ text: String) -> String {
    text.escapingControlCharacters
}
