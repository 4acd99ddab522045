import ArgumentParser
import Foundation
import PicusJournal

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List journal entries, newest first.",
        discussion: """
            Filters of one kind are alternatives; filters of different kinds all apply. When more entries \
            match than --limit, the cursor of the next page goes to stderr: pass it back with --after.

            Example:
              picus-journal list --status 422 --since 24h
              picus-journal list --status 5xx --status 429 --state queued --format json
              picus-journal list --path '/v1/simulations*' --grep "validation" --format csv > rejected.csv
            """)

    @OptionGroup var filters: QueryOptions

    @Option(help: ArgumentHelp("At most this many entries.", valueName: "n"))
    var limit: Int = 50

    @Option(help: ArgumentHelp("Continue after this cursor, printed by the previous page.", valueName: "cursor"))
    var after: JournalQuery.Cursor?

    @Option(help: "table for people; json, ndjson or csv for machines.")
    var format: OutputFormat = .table

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be a positive number") }
        guard format != .text else { throw ValidationError("list prints --format table, json, ndjson or csv") }
    }

    func run() async throws {
        try await reportingErrors {
            try await journal.withReader(agents: filters.agent) { journal in
                let page = try await journal.page(matching: filters.query(limit: limit, after: after))
                let output: String = switch format {
                case .json: try EntryDocument.json(page.entries.map { EntryDocument($0) }) + "\n"
                case .ndjson: try EntryDocument.ndjson(page.entries)
                case .csv: EntryDocument.csv(page.entries)
                case .table, .text: EntryTable(entries: page.entries, colors: Terminal.usesColor).render()
                }
                try writeOut(Data(output.utf8))
                if let next = page.nextCursor {
                    note("more entries: --after \(next)")
                }
            }
        }
    }
}
