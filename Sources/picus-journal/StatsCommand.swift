import ArgumentParser
import Foundation
import PicusJournal

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Count entries: states, failure rate, frequent errors, the queue; optionally grouped.",
        discussion: """
            Takes the same filters as list.

            Example:
              picus-journal stats --since 24h
              picus-journal stats --status 4xx --by path
              picus-journal stats --by day --format json
            """)

    @OptionGroup var filters: QueryOptions

    @Option(help: "Group by status, path, error-code, hour or day.")
    var by: Statistics.Grouping?

    @Option(help: "table for people, json for machines.")
    var format: OutputFormat = .table

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        guard format == .table || format == .json else { throw ValidationError("stats prints --format table or json") }
    }

    func run() async throws {
        try await reportingErrors {
            try await journal.withReader(agents: filters.agent, grouping: by) { journal in
                let statistics = try await journal.statistics(matching: filters.query(limit: nil), by: by, topErrorCount: 5)
                if format == .json {
                    try writeJSON(statistics)
                } else {
                    try writeOut(Data(StatisticsTable(statistics: statistics).render().utf8))
                }
            }
        }
    }
}

/// The `stats` table.
struct StatisticsTable {
    let statistics: Statistics

    func render() -> String {
        let rate = statistics.failureRate.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a"
        var lines = ["Entries: \(statistics.total)    failure rate: \(rate) (failed or expired, of those finished)"]
        let states = EntryState.allCases.compactMap { state in statistics.byState[state.rawValue].map { "\(state.rawValue) \($0)" } }
        lines.append("States: " + (states.isEmpty ? "none" : states.joined(separator: ", ")))
        var queue = "Queue: \(statistics.queueDepth) waiting"
        if let oldest = statistics.oldestQueued {
            queue += "; oldest is entry \(oldest.id), written \(shortTime(oldest.createdAt))"
        }
        lines.append(queue)
        if !statistics.topErrors.isEmpty {
            lines.append("")
            lines.append("Most frequent errors:")
            for error in statistics.topErrors {
                lines.append("\(fit(String(error.count), 8, right: true))  \(fit(error.message, 68))")
            }
        }
        if let grouping = statistics.grouping {
            lines.append("")
            lines.append("\(fit(grouping.uppercased(), 44))\(fit("COUNT", 10, right: true))\(fit("FAILED", 10, right: true))\(fit("RATE", 9, right: true))")
            for group in statistics.groups {
                let rate = group.failureRate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
                lines.append("\(fit(group.key, 44))\(fit(String(group.count), 10, right: true))\(fit(String(group.failed), 10, right: true))\(fit(rate, 9, right: true))")
            }
        }
        return lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n") + "\n"
    }
}

/// `2026-11-25 09:32 UTC`: short enough for an 80-column line.
func shortTime(_ date: Date) -> String {
    date.formatted(Date.VerbatimFormatStyle(
        format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) UTC",
        timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
}
