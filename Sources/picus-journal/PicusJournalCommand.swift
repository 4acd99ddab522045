import ArgumentParser

@main
struct PicusJournalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "picus-journal",
        abstract: "Journal, replay and inspect Picus Security API requests.",
        discussion: """
            Every request goes into a SQLite journal before it is sent; every attempt's status and decoded \
            error are recorded. The journal is --db, else $PICUS_JOURNAL_DB, else \
            $XDG_STATE_HOME/picus-journal/journal.sqlite, else ~/.local/state/picus-journal/journal.sqlite.
            """,
        subcommands: [
            RequestCommand.self, ListCommand.self, ShowCommand.self, StatsCommand.self, ExportCommand.self,
            ReplayCommand.self, CancelCommand.self, RequeueCommand.self, PruneCommand.self, DoctorCommand.self,
            SandboxCommand.self, DemoCommand.self,
        ])
}
