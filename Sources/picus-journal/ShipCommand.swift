import ArgumentParser
import Foundation
import Logging
import PicusJournal
import PicusJournalFleet

struct ShipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract: "Copy the journal's entries and attempts into a fleet store in PostgreSQL.",
        discussion: """
            Ships what changed since the last ship: new entries, and the new state and attempts of entries \
            shipped before. Running it twice changes nothing; a ship stopped anywhere resumes where its last \
            batch committed. The journal's writers never wait: its entries are read from snapshots, and ship \
            writes only its own record of how far it got, one row per batch. Secrets are redacted on the way. \
            A journal is shipped under one agent name: a second name is refused.

            Every step waits at most --timeout seconds for PostgreSQL (connecting at most 10): a connection \
            that goes silent ends a ship with exit 1, and makes --watch retry until PostgreSQL is back.

            The password comes from $PGPASSWORD, else from $PGPASSFILE or ~/.pgpass (libpq's format, mode 0600), \
            never from the URL. sslmode=disable|prefer|require|verify-ca|verify-full in the URL sets TLS \
            (default prefer). The store's tables live in the schema picus_journal, made on first ship.

            Read the fleet with the same commands: picus-journal --db postgres://… list|show|stats|export, \
            with --agent NAME (repeatable) to pick agents.

            Example:
              picus-journal ship --to postgres://picus@db.internal/fleet --agent site-a
              picus-journal ship --watch \\
                  --to 'postgres://picus@db.internal/fleet?sslmode=verify-full'
            """)

    @Option(help: ArgumentHelp("The fleet store: postgres://USER@HOST[:PORT]/DB[?sslmode=MODE].", valueName: "url"))
    var to: String

    @Option(help: ArgumentHelp("This journal's name in the fleet. Default: the host name.", valueName: "name"))
    var agent: String?

    @Flag(help: "Keep shipping as the journal changes, retrying while PostgreSQL is unreachable, until SIGINT or SIGTERM.")
    var watch = false

    @Option(help: ArgumentHelp("Entries per batch (one transaction each).", valueName: "n"))
    var batchSize: Int = FleetStore.defaultBatchSize

    @Option(help: ArgumentHelp("Seconds to wait for PostgreSQL at each step: an answer, a batch's COPY, a commit.", valueName: "seconds"))
    var timeout: Double = 60

    @OptionGroup var journal: JournalOptions

    func validate() throws {
        _ = try location()
        let name = resolvedAgent
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("--agent must be 1 to 200 characters, none of them control characters")
        }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 10000") }
        guard timeout >= 0.1, timeout <= 86_400 else { throw ValidationError("--timeout must be between 0.1 and 86400 seconds") }
    }

    private var configuration: FleetStore.Configuration {
        let timeout = Duration.milliseconds(Int64((self.timeout * 1000).rounded()))
        return FleetStore.Configuration(connectTimeout: min(.seconds(10), timeout), operationTimeout: timeout)
    }

    private func location() throws -> FleetLocation {
        do {
            return try FleetLocation(to)
        } catch let error as FleetError {
            throw ValidationError(error.description)
        }
    }

    private var resolvedAgent: String { agent ?? ProcessInfo.processInfo.hostName }

    func run() async throws {
        try await reportingErrors {
            let journal = try journal.open()
            let location = try location()
            let agent = resolvedAgent
            let logger = Logger(label: "picus.fleet")
            if watch {
                var service = FleetShipService(journal: journal, to: location, as: agent, logger: logger) { event in
                    switch event {
                    case .connected(again: false):
                        say("Shipping \(journal.path) to \(location) as agent \(agent); stop with Ctrl-C.")
                    case .connected(again: true):
                        say("Reached \(location) again; shipping what changed meanwhile.")
                    case .shipped(let totals):
                        let kept = totals.unchanged > 0 ? ", \(totals.unchanged) already there" : ""
                        say("shipped \(totals.entries) entries, \(totals.attempts) attempts (clock \(totals.clock))\(kept)")
                    case .unavailable(let error, let retryIn):
                        // On stdout with the rest of the watch's account: a supervisor's log keeps the story in order.
                        say("\(error); retrying in \(retryIn.components.seconds) s")
                    }
                }
                service.batchSize = batchSize
                service.configuration = configuration
                try await runUntilSignalled(service)
                return
            }
            let store = try await FleetStore.connect(to: location, configuration: configuration, logger: logger)
            do {
                try await store.migrate()
                let start = ContinuousClock.now
                let result = try await store.ship(journal, as: agent, batchSize: batchSize)
                let seconds = (ContinuousClock.now - start) / .seconds(1)
                say(summary(of: result, seconds: seconds, from: journal.path, to: location, as: agent))
                await store.close()
            } catch {
                await store.close()
                throw error
            }
        }
    }

    /// What one ship did, in one line: the entries the store wrote, never the ones it already had.
    private func summary(of result: ShipResult, seconds: Double, from path: String, to location: FleetLocation, as agent: String) -> String {
        guard result.entries > 0 || result.attempts > 0 else {
            return result.unchanged == 0
                ? "Nothing to ship: \(location) has everything of \(path) as agent \(agent)."
                : "Nothing new to ship: \(location) had all \(result.unchanged) entries sent, as agent \(agent)."
        }
        let rate = seconds > 0 && result.entries > 0 ? String(format: ", %.0f entries/s", Double(result.entries) / seconds) : ""
        let kept = result.unchanged > 0 ? " \(result.unchanged) more were there already." : ""
        return "Shipped \(result.entries) entries and \(result.attempts) attempts to \(location) as agent \(agent) in \(String(format: "%.2f", seconds)) s\(rate).\(kept)"
    }
}
