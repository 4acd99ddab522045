import ArgumentParser
import Foundation
import PicusJournal

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the journal: integrity, schema, counts, WAL size, permissions, the queue, leases.",
        discussion: """
            Exit 0 when all is well, 1 when something is wrong — each problem with what to do.

            Example:
              picus-journal doctor
              picus-journal doctor --thorough --format json
            """)

    @Flag(help: "Run PRAGMA integrity_check (reads every index) instead of quick_check.")
    var thorough = false

    @Option(help: "text for people, json for machines.")
    var format: OutputFormat = .text

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        guard format == .text || format == .json else { throw ValidationError("doctor prints --format text or json") }
    }

    func run() async throws {
        try await reportingErrors {
            try journal.refuseFleetStore()
            try journal.refuseAnythingButAFile()
            let diagnosis = await Journal.diagnose(path: journal.resolvedPath, thorough: thorough)
            if format == .json {
                try writeJSON(diagnosis)
            } else {
                say("Journal \(journal.resolvedPath)")
                for check in diagnosis.checks {
                    say("  \(check.isHealthy ? "ok " : "BAD") \(fit(check.name, 12)) \(check.detail)")
                    if let advice = check.advice { say("      → \(advice)") }
                }
                say(diagnosis.isHealthy ? "All is well." : "Something is wrong: see the lines marked BAD.")
            }
            if !diagnosis.isHealthy { throw ExitCode.failure }
        }
    }
}
