import ArgumentParser
import Foundation
import PicusJournal

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List journal entries, newest first.",
        discussion: """
            Filters of one kind are alternatives; filters of different kinds all apply.

            Example:
              picus-journal list --status 422 --since 24h
              picus-journal list --status 5xx --status 429 --state queued --format json
            """)

    @Option(help: ArgumentHelp("Only this last status: a code like 422 or a class like 4xx. Repeatable.", valueName: "code|class"))
    var status: [JournalQuery.StatusFilter] = []

    @Option(help: ArgumentHelp("Only this state: \(EntryState.allCases.map(\.rawValue).joined(separator: ", ")). Repeatable.", valueName: "state"))
    var state: [EntryState] = []

    @Option(help: ArgumentHelp("Only entries created since: 90m, 24h, 7d or an ISO 8601 time.", valueName: "time"))
    var since: TimeBound?

    @Option(help: ArgumentHelp("At most this many entries.", valueName: "n"))
    var limit: Int = 50

    @Option(help: "table for people, json for machines.")
    var format: OutputFormat = .table

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be a positive number") }
        guard format != .text else { throw ValidationError("list prints --format table or json") }
    }

    func run() async throws {
        try await reportingErrors {
            let journal = try journal.open()
            let query = JournalQuery(statuses: status, states: state, since: since?.date, limit: limit)
            let entries = try await journal.entries(matching: query)
            switch format {
            case .json:
                print(try EntryDocument.json(entries.map { EntryDocument($0) }))
            case .table, .text:
                print(EntryTable(entries: entries, colors: Terminal.usesColor).render(), terminator: "")
            }
        }
    }
}
