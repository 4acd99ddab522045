import ArgumentParser
import Foundation
import Logging
import PicusJournal
import PicusJournalFleet

/// `--db`, shared by every command that opens the journal.
struct JournalOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp(
        "The journal file. Default: $PICUS_JOURNAL_DB, else $XDG_STATE_HOME/picus-journal/journal.sqlite, else ~/.local/state/picus-journal/journal.sqlite. list, show, stats and export also read a fleet store: postgres://USER@HOST[:PORT]/DB.",
        valueName: "path|url"))
    var path: String?

    var resolvedPath: String { path ?? Journal.defaultPath() }

    /// Opens the journal to write; only the commands that write requests create a missing one.
    func open(creating: Bool = false) throws -> Journal {
        try refuseFleetStore()
        try refuseAnythingButAFile()
        return OpenJournals.shared.add(try Journal(path: resolvedPath, configuration: Self.configuration, createIfMissing: creating))
    }

    /// Opens the journal to read it: no creation, no migration, not a byte written.
    func openForReading() throws -> Journal {
        try refuseFleetStore()
        try refuseAnythingButAFile()
        return OpenJournals.shared.add(try Journal(readingFrom: resolvedPath, configuration: Self.configuration))
    }

    /// Refuses a path that names something other than a regular file (a link to one is one), found
    /// with `stat` and never opened: opening a FIFO waits for a writer that never comes, and a device
    /// or a socket is no journal either. A missing path is left to the journal, which creates it or
    /// says it is missing.
    func refuseAnythingButAFile() throws {
        try Self.refuseAnythingButAFile(at: resolvedPath)
    }

    static func refuseAnythingButAFile(at path: String) throws {
        let kind = ExclusiveFile.kind(atPath: path)
        guard kind != .missing, kind != .regular else { return }
        throw CLIError("--db \(path) is \(kind.noun), not a journal file; pass the path of a journal, like ~/.local/state/picus-journal/journal.sqlite")
    }

    /// Runs `body` on what `--db` names, a journal file or a fleet store, opened to read; a fleet
    /// store's connection is closed afterwards. `--agent` and `--by agent` are a fleet store's.
    func withReader(agents: [String] = [], grouping: Statistics.Grouping? = nil,
                    _ body: (any JournalReader) async throws -> Void) async throws {
        guard FleetLocation.isFleetURL(resolvedPath) else {
            if !agents.isEmpty { throw CLIError("--agent filters a fleet store; pass --db postgres://USER@HOST/DB") }
            if grouping == .agent { throw CLIError("--by agent groups a fleet store's entries; pass --db postgres://USER@HOST/DB") }
            try await body(try openForReading())
            return
        }
        let store = try await FleetStore.connect(to: try FleetLocation(resolvedPath), logger: Logger(label: "picus.fleet"))
        do {
            try await store.checkSchema()
            try await body(store)
            await store.close()
        } catch {
            await store.close()
            throw error
        }
    }

    func refuseFleetStore() throws {
        if FleetLocation.isFleetURL(resolvedPath) {
            let shown = FleetLocation.redacting(resolvedPath).split(separator: "?").first.map(String.init) ?? ""
            throw CLIError("--db \(shown) names a fleet store, which list, show, stats and export read; this command needs a journal file")
        }
    }

    private static var configuration: Journal.Configuration {
        var configuration = Journal.Configuration()
        configuration.observability.logger = Logger(label: "picus.journal")
        return configuration
    }
}
