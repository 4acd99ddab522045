import ArgumentParser
import Foundation
import Logging
import PicusJournal

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
        configuration.limits.timeout = .milliseconds(Int64(timeout * 1000))
        configuration.observability.logger = Logger(label: "picus.client")
        configuration.observability.metrics = metrics
        configuration.retryPolicy = retryPolicy
        let credentials = token.map {
            RefreshTokenCredentials(refreshToken: $0, baseURL: baseURL)
        }
        return JournaledClient(journal: journal, baseURL: baseURL, credentials: credentials, configuration: configuration)
    }
}
