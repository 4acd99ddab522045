import ArgumentParser
import Foundation
import PicusJournal

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export entries for a support ticket: HAR, NDJSON or CSV, secrets redacted, streamed.",
        discussion: """
            Takes the same filters as list. HAR has one entry per attempt and opens in browser dev tools; \
            NDJSON has one journal entry per line with its attempts; CSV has one attempt per row. \
            Authorization and cookie headers, and token, password, secret and API-key fields of bodies and \
            query strings, are redacted. --bundle writes one HAR file that also carries a summary.

            Example:
              picus-journal export --since 24h --format har -o ticket.har
              picus-journal export --status 5xx --since 7d --bundle -o picus-support.har
              picus-journal export --format ndjson | jq .
            """)

    @OptionGroup var filters: QueryOptions

    @Option(help: "har, ndjson or csv.")
    var format: ExportFormat = .har

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Write to this file (0600, written whole then renamed into place; a FIFO or device is written in place; a link is followed; - is stdout).", valueName: "file"))
    var output: String?

    @Flag(help: "One HAR file for a support ticket: a summary in log.comment and log._summary, then the attempts.")
    var bundle = false

    @Option(help: ArgumentHelp("At most this many entries (newest first).", valueName: "n"))
    var limit: Int?

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        if bundle, format != .har { throw ValidationError("--bundle writes HAR; drop --format \(format.rawValue)") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be a positive number") }
    }

    func run() async throws {
        try await reportingErrors {
            try await journal.withReader(agents: filters.agent) { journal in
                let query = filters.query(limit: limit)
                var options = ExportOptions()
                if let url = ProcessInfo.processInfo.environment["PICUS_API_URL"], !url.isEmpty { options.defaultOrigin = url }
                if bundle {
                    let statistics = try await journal.statistics(matching: query, by: nil, topErrorCount: 5)
                    options.statistics = statistics
                    options.summary = "picus-journal \(PicusJournalVersion.current) support bundle, written \(ISO8601String(Date())). "
                        + StatisticsTable(statistics: statistics).render().replacingOccurrences(of: "\n", with: " | ")
                }
                guard let output, output != "-", output != "/dev/stdout" else {
                    // `>> journal.sqlite` would hand the journal over as stdout.
                    if let journal = journal as? Journal { try journal.refuseExport(toDescriptor: STDOUT_FILENO, shownAs: "stdout") }
                    let result = try await journal.export(matching: query, as: format, options: options) { try writeOut($0) }
                    report(result, to: "stdout")
                    return
                }
                report(try await journal.export(matching: query, as: format, options: options, toFile: output), to: output)
            }
        }
    }

    private func report(_ result: ExportResult, to destination: String) {
        note("exported \(result.entries) entries (\(result.attempts) attempts, \(result.bytes) bytes) as \(format.rawValue) to \(destination)")
    }
}
