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
        configuration.logger = Logger(label: "picus.journal")
        return configuration
    }
}

/// `--base-url` and `--token-file`, for commands that talk to the API.
struct APIOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The API's base URL. Default: $PICUS_API_URL, else https://api.picussecurity.com.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("A file holding the refresh token. Default: $PICUS_REFRESH_TOKEN.", valueName: "path"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Seconds one attempt may take, from connecting to the last byte of the body.", valueName: "seconds"))
    var timeout: Double = 30

    @OptionGroup var policy: PolicyOptions

    func validate() throws {
        _ = try resolvedBaseURL()
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
    }

    /// The base URL, checked by the rule the client itself applies: a URL the client would refuse
    /// is a usage error here, before anything is journaled.
    func resolvedBaseURL() throws -> URL {
        let fromEnvironment = baseURL == nil ? ProcessInfo.processInfo.environment["PICUS_API_URL"] : nil
        let text = baseURL ?? fromEnvironment ?? "https://api.picussecurity.com"
        let source = fromEnvironment == nil ? "--base-url" : "$PICUS_API_URL"
        guard let url = URL(string: text) else {
            throw ValidationError("\(source) '\(Self.withoutCredentials(text))' is not an http(s) URL; pass a base URL like https://api.picussecurity.com")
        }
        if let problem = JournaledClient.problem(withBaseURL: url) {
            throw ValidationError("\(source) '\(Self.withoutCredentials(text))' \(problem); pass a base URL like https://api.picussecurity.com, with no user, query or fragment")
        }
        return url
    }

    /// A URL as a message may show it: a user and password in it are not repeated.
    private static func withoutCredentials(_ text: String) -> String {
        guard let start = text.range(of: "://")?.upperBound else { return text }
        let authority = text[start...].prefix { !"/?#".contains($0) }
        guard let at = authority.lastIndex(of: "@") else { return text }
        return text.replacingCharacters(in: start..<at, with: Redactor.placeholder)
    }

    /// The refresh token from --token-file or $PICUS_REFRESH_TOKEN; nil sends no Authorization header.
    func refreshToken() throws -> String? {
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CLIError("cannot read the token file \(tokenFile); check that it exists and is readable")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw CLIError("the token file \(tokenFile) is empty") }
            return token
        }
        let token = ProcessInfo.processInfo.environment["PICUS_REFRESH_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        return token?.isEmpty == false ? token : nil
    }

    /// A client on the journal `open` opens, once every option it needs has been read: a bad policy
    /// file journals nothing.
    func makeClient(opening open: () throws -> Journal, metrics: JournalMetrics = .system) throws -> JournaledClient {
        let baseURL = try resolvedBaseURL()
        let retryPolicy = try policy.resolved()
        let token = try refreshToken()
        let journal = try open()
        var configuration = JournaledClient.Configuration()
        configuration.timeout = .milliseconds(Int64(timeout * 1000))
        configuration.logger = Logger(label: "picus.client")
        configuration.metrics = metrics
        configuration.retryPolicy = retryPolicy
        let credentials = token.map {
            RefreshTokenCredentials(refreshToken: $0, baseURL: baseURL, timeout: configuration.timeout)
        }
        return JournaledClient(journal: journal, baseURL: baseURL, credentials: credentials, configuration: configuration)
    }
}

/// A runtime failure the CLI reports in one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body; any failure becomes one line on stderr and exit 1. Never a stack trace.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
        if let problem = OutputHealth.shared.problem { throw CLIError("cannot write the output: \(problem)") }
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError(describe(error))
        throw ExitCode.failure
    }
}

/// Output formats of `list`, `show`, `stats` and `doctor`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, text, json, ndjson, csv
}

extension ExportFormat: ExpressibleByArgument {}
extension Statistics.Grouping: ExpressibleByArgument {}

/// The filters `list`, `stats` and `export` share.
struct QueryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this last status: a code like 422 or a class like 4xx. Repeatable.", valueName: "code|class"))
    var status: [JournalQuery.StatusFilter] = []

    @Option(help: ArgumentHelp("Only this state: \(EntryState.allCases.map(\.rawValue).joined(separator: ", ")). Repeatable.", valueName: "state"))
    var state: [EntryState] = []

    @Option(help: ArgumentHelp("Only this HTTP method. Repeatable.", valueName: "method"))
    var method: [String] = []

    @Option(help: ArgumentHelp("Only paths matching this glob, like '/v1/simulations*' (query excluded, case-sensitive).", valueName: "glob"))
    var path: String?

    @Option(help: ArgumentHelp("Only this Picus error_code. Repeatable.", valueName: "code"))
    var errorCode: [String] = []

    @Option(help: ArgumentHelp("Only entries with an attempt whose error message contains this text.", valueName: "text"))
    var grep: String?

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

/// The journals a command opened, closed before the process exits: a closed journal has its WAL
/// checkpointed and removed, whatever task still held a reference when the command returned.
final class OpenJournals: Sendable {
    static let shared = OpenJournals()
    private let journals = LockedValue<[Journal]>([])

    func add(_ journal: Journal) -> Journal {
        journals.withLock { $0.append(journal) }
        return journal
    }

    /// Closes every journal opened; a failure to close loses nothing (SQLite recovers the WAL on the next open).
    func closeAll() {
        let opened = journals.withLock { journals in
            defer { journals = [] }
            return journals
        }
        for journal in opened { try? journal.close() }
    }
}
