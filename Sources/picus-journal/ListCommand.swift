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
              picus-journal list --path '/v1/simulations*' --grep "validation" \\
                  --format csv > rejected.csv
              picus-journal list --status 429 --any-attempt    # ever rate-limited
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
                let query = filters.query(limit: limit, after: after)
                let next: JournalQuery.Cursor?
                switch format {
                case .json, .ndjson, .csv:
                    // Machine formats stream: a batch of entries at a time, whatever --limit asks for.
                    var writer = EntryListWriter(format: format == .json ? .json : format == .ndjson ? .ndjson : .csv, write: writeOut)
                    next = try await journal.forEachBatch(matching: query) { try writer.add($0) }
                    try writer.end()
                case .table, .text:
                    // The table's columns fit its widest cell, so it reads every row in one page.
                    let page = try await journal.page(matching: query)
                    next = page.nextCursor
                    try writeOut(Data(EntryTable(entries: page.entries, colors: Terminal.usesColor).render().utf8))
                }
                if let next {
                    note("more entries: --after \(next)")
                }
            }
        }
    }
}
