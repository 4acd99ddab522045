import ArgumentParser
import Foundation
import PicusJournal

struct RequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Put a failed, expired or cancelled entry back in the queue, due now.",
        discussion: """
            A succeeded entry is refused: requeueing it would send it twice.

            Example:
              picus-journal requeue 42 && picus-journal replay --id 42
            """)

    @Argument(help: "The entry id.")
    var id: Int64

    @OptionGroup var journal: JournalOptions
    @OptionGroup var policy: PolicyOptions

    func run() async throws {
        try await reportingErrors {
            let entry = try await journal.open().requeue(entry: id, policy: try policy.resolved())
            say("entry \(entry.id): \(entry.method) \(entry.redactedTarget) queued, due now")
        }
    }
}
