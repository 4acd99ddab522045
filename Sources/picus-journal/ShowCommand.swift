import ArgumentParser
import Foundation
import PicusJournal

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one entry with all its attempts and decoded errors.",
        discussion: """
            Example:
              picus-journal show 42
              picus-journal show 42 --format json
            """)

    @Argument(help: "The entry id, as list shows it.")
    var id: Int64

    @Option(help: "text for people, json for machines.")
    var format: OutputFormat = .text

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        guard format == .text || format == .json else { throw ValidationError("show prints --format text or json") }
    }

    func run() async throws {
        try await reportingErrors {
            try await journal.withReader { journal in
                guard let entry = try await journal.entry(id: id) else {
                    throw CLIError("no entry \(id) in \(journal.location); run picus-journal list to see the ids")
                }
                let attempts = try await journal.attempts(ofEntry: id)
                switch format {
                case .json:
                    try writeOut(Data((try EntryDocument.json(EntryDocument(entry, attempts: attempts)) + "\n").utf8))
                default:
                    try writeOut(Data(EntryDetail(entry: entry, attempts: attempts).render().escapingControlCharactersExceptNewlines.utf8))
                }
            }
        }
    }
}
