import ArgumentParser
import Foundation
import PicusJournal

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete finished entries past their retention, in small batches that never hold writers up.",
        discussion: """
            Without options it applies the retention policy: succeeded entries go after 7 days; failed, \
            expired and cancelled after 30, counted from when they finished. Queued entries are never pruned: \
            they go once a replay has expired them (after 7 days by default). With --older-than or --state it \
            deletes just that.

            Example:
              picus-journal prune --dry-run
              picus-journal prune --older-than 90d --state failed
            """)

    @Option(help: ArgumentHelp("Only entries that finished before this: 30d, 12h, or an ISO 8601 time.", valueName: "age"))
    var olderThan: TimeBound?

    @Option(help: ArgumentHelp("Only this state: succeeded, failed, expired or cancelled. Repeatable.", valueName: "state"))
    var state: [EntryState] = []

    @Flag(help: "Count what would go; delete nothing.")
    var dryRun = false

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        if let waiting = state.first(where: { !RetentionPolicy.prunableStates.contains($0) }) {
            throw ValidationError("\(waiting.rawValue) entries are never pruned: they have not finished (cancel them first)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let journal = try journal.open()
            let verb = dryRun ? "Would delete" : "Deleted"
            if olderThan == nil, state.isEmpty {
                let result = try await journal.prune(dryRun: dryRun)
                let parts = EntryState.allCases.compactMap { state in result.deleted[state].map { "\($0) \(state.rawValue)" } }
                say("\(verb) \(result.total) entries\(parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))") past the retention policy.")
                return
            }
            let cutoff = olderThan?.date ?? Date().addingTimeInterval(-30 * 86_400)
            let states = state.isEmpty ? RetentionPolicy.prunableStates : Set(state)
            let count = try await journal.prune(states: states, olderThan: cutoff, dryRun: dryRun)
            say("\(verb) \(count) \(states.map(\.rawValue).sorted().joined(separator: "/")) entries that finished before \(ISO8601String(cutoff)).")
        }
    }
}
