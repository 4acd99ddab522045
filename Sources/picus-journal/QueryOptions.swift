import ArgumentParser
import Foundation
import PicusJournal

/// Output formats of `list`, `show`, `stats` and `doctor`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, text, json, ndjson, csv
}

extension ExportFormat: ExpressibleByArgument {}
extension Statistics.Grouping: ExpressibleByArgument {}

/// The filters `list`, `stats` and `export` share.
struct QueryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this last status (any attempt's, with --any-attempt): a code like 422 or a class like 4xx. Repeatable.", valueName: "code|class"))
    var status: [JournalQuery.StatusFilter] = []

    @Option(help: ArgumentHelp("Only this state: \(EntryState.allCases.map(\.rawValue).joined(separator: ", ")). Repeatable.", valueName: "state"))
    var state: [EntryState] = []

    @Option(help: ArgumentHelp("Only this HTTP method. Repeatable.", valueName: "method"))
    var method: [String] = []

    @Option(help: ArgumentHelp("Only paths matching this glob, like '/v1/simulations*' (query excluded, case-sensitive).", valueName: "glob"))
    var path: String?

    @Option(help: ArgumentHelp("Only this last Picus error_code (any attempt's, with --any-attempt). Repeatable.", valueName: "code"))
    var errorCode: [String] = []

    @Option(help: ArgumentHelp("Only entries whose last error message contains this text, ASCII case ignored (any attempt's, with --any-attempt).", valueName: "text"))
    var grep: String?

    @Flag(help: "Match --status, --error-code and --grep against every attempt, not just the last: --status 429 --any-attempt finds each entry that ever got a 429. All three then hold for one attempt.")
    var anyAttempt = false

    @Option(help: ArgumentHelp("Only entries created since: 90m, 24h, 7d or an ISO 8601 time.", valueName: "time"))
    var since: TimeBound?

    @Option(help: ArgumentHelp("Only entries created before: 90m, 24h, 7d (ago) or an ISO 8601 time.", valueName: "time"))
    var until: TimeBound?

    @Option(help: ArgumentHelp("Only entries shipped from this agent (a fleet store's filter). Repeatable.", valueName: "name"))
    var agent: [String] = []

    func validate() throws {
        for method in method where !RequestCommand.methods.contains(method.uppercased()) {
            throw ValidationError("'\(method)' is not an HTTP method; use one of \(RequestCommand.methods.joined(separator: ", "))")
        }
        if let path, !path.hasPrefix("/"), !path.hasPrefix("*") {
            throw ValidationError("--path takes a glob that starts with / or *, like '/v1/simulations*'")
        }
        if let grep, grep.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--grep needs some text")
        }
    }

    func query(limit: Int?, after: JournalQuery.Cursor? = nil) -> JournalQuery {
        var query = JournalQuery(statuses: status, states: state, since: since?.date, until: until?.date, limit: limit)
        query.methods = method.map { $0.uppercased() }
        query.pathGlob = path
        query.errorCodes = errorCode
        query.text = grep
        query.anyAttempt = anyAttempt
        query.agents = agent
        query.after = after
        return query
    }
}

extension JournalQuery.Cursor: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }
}

extension JournalQuery.StatusFilter: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    public static var defaultCompletionKind: CompletionKind {
        .list(["200", "201", "400", "401", "404", "408", "410", "422", "429", "500", "503", "504", "2xx", "4xx", "5xx"])
    }
}

extension EntryState: ExpressibleByArgument {}

/// A `--since`/`--until` value: `90m`, `24h`, `7d` or ISO 8601.
struct TimeBound: ExpressibleByArgument {
    let date: Date

    init?(argument: String) {
        guard let date = JournalQuery.time(argument) else { return nil }
        self.date = date
    }
}
