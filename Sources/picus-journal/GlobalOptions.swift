import ArgumentParser
import Foundation
import PicusJournal

/// `--db`, shared by every command that opens the journal.
struct JournalOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp(
        "The journal file. Default: $PICUS_JOURNAL_DB, else $XDG_STATE_HOME/picus-journal/journal.sqlite, else ~/.local/state/picus-journal/journal.sqlite.",
        valueName: "path"))
    var path: String?

    var resolvedPath: String { path ?? Journal.defaultPath() }

    func open() throws -> Journal {
        try Journal(path: resolvedPath)
    }
}

/// `--base-url` and `--token-file`, for commands that talk to the API.
struct APIOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The API's base URL. Default: $PICUS_API_URL, else https://api.picussecurity.com.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("A file holding the refresh token. Default: $PICUS_REFRESH_TOKEN.", valueName: "path"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Seconds one attempt may take.", valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        _ = try resolvedBaseURL()
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
    }

    func resolvedBaseURL() throws -> URL {
        let text = baseURL ?? ProcessInfo.processInfo.environment["PICUS_API_URL"] ?? "https://api.picussecurity.com"
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw ValidationError("'\(text)' is not an http(s) URL; pass --base-url like https://api.picussecurity.com")
        }
        return url
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

    func makeClient(journal: Journal) throws -> JournaledClient {
        let baseURL = try resolvedBaseURL()
        var configuration = JournaledClient.Configuration()
        configuration.timeout = .milliseconds(Int64(timeout * 1000))
        let credentials = try refreshToken().map {
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
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError(String(describing: error))
        throw ExitCode.failure
    }
}

func printError(_ message: String) {
    let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
    FileHandle.standardError.write(Data("picus-journal: error: \(line)\n".utf8))
}

/// Output formats of `list` and `show`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, text, json
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
