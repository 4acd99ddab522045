import ArgumentParser
import Foundation
import PicusJournal

struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a queued or pending entry so that nothing sends it.",
        discussion: """
            Example:
              picus-journal cancel 42
            """)

    @Argument(help: "The entry id.")
    var id: Int64

    @OptionGroup var journal: JournalOptions

    func run() async throws {
        try await reportingErrors {
            let entry = try await journal.open().cancel(entry: id)
            say("entry \(entry.id): \(entry.method) \(entry.redactedTarget) cancelled")
        }
    }
}
