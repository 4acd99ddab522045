import ArgumentParser
import Foundation
import Logging
import PicusJournal
import Tracing

@main
struct PicusJournalCommand: AsyncParsableCommand {
    static func main() async {
        // A reader that goes away (`| head`) makes writes fail with EPIPE, reported in one line,
        // instead of killing the process without a word.
        signal(SIGPIPE, SIG_IGN)
        OutputHealth.checkStandardOutput()
        let arguments: [String]
        do {
            arguments = try LoggingSetup.bootstrap(Array(CommandLine.arguments.dropFirst()))
        } catch {
            try? FileHandle.standardError.write(contentsOf: Data("picus-journal: error: \(error)\n".utf8))
            Foundation.exit(64)
        }
        do {
            // The caller's trace, from OpenTelemetry's environment carrier: what `request` journals
            // its entry in, and what a replayer links its replays to.
            try await ServiceContext.$current.withValue(callerContext()) {
                var command = try parseAsRoot(globalOptionsMoved(arguments))
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            }
            OpenJournals.shared.closeAll()
        } catch {
            OpenJournals.shared.closeAll()
            exit(withError: error)
        }
    }

    /// A context that carries `TRACEPARENT`/`TRACESTATE`; an invalid `TRACEPARENT` is ignored, with a warning.
    private static func callerContext() -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let traceparent = ProcessInfo.processInfo.environment["TRACEPARENT"] else { return context }
        if let trace = TraceContext.fromEnvironment() {
            context.picusTraceContext = trace
        } else {
            Logger(label: "picus-journal").warning(
                "ignoring TRACEPARENT: not a W3C traceparent (VERSION-TRACEID-PARENTID-FLAGS)",
                metadata: ["picus.traceparent": "\(traceparent.escapingControlCharacters.prefix(80))"])
        }
        return context
    }

    static let configuration = CommandConfiguration(
        commandName: "picus-journal",
        abstract: "Journal, replay and inspect Picus Security API requests.",
        discussion: """
            Every request goes into a SQLite journal before it is sent; every attempt's status and decoded \
            error are recorded. The journal is --db, else $PICUS_JOURNAL_DB, else \
            $XDG_STATE_HOME/picus-journal/journal.sqlite, else ~/.local/state/picus-journal/journal.sqlite.

            Logging, before or after the subcommand: --log-level trace|debug|info|notice|warning|error|critical \
            (else $LOG_LEVEL, else warning) and --log-format text|json, one line per event on stderr.
            """,
        version: PicusJournalVersion.current,
        subcommands: [
            RequestCommand.self, ListCommand.self, ShowCommand.self, StatsCommand.self, ExportCommand.self,
            ReplayCommand.self, CancelCommand.self, RequeueCommand.self, PruneCommand.self, DoctorCommand.self,
            ShipCommand.self, PolicyCommand.self, SandboxCommand.self, DemoCommand.self,
        ])

    /// Options a user may give before the subcommand, as well as after it.
    private static let movedOptions = ["--db", "--policy"]

    /// `picus-journal --db PATH list` as well as `picus-journal list --db PATH`: a `--db` or a
    /// `--policy` given before the subcommand moves after it, where each subcommand declares it.
    static func globalOptionsMoved(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first, let option = movedOptions.first(where: { first == $0 || first.hasPrefix($0 + "=") }) {
            leading.append(first)
            rest = rest.dropFirst()
            if first == option, let value = rest.first {
                leading.append(value)
                rest = rest.dropFirst()
            }
        }
        guard !leading.isEmpty, let subcommand = rest.first else { return arguments }
        return [subcommand] + Array(rest.dropFirst()) + leading
    }
}
