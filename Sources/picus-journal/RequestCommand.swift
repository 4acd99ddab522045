import ArgumentParser
import Foundation
import PicusJournal

struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Send one request through the journal and print the response body.",
        discussion: """
            The request is journaled before it is sent. Exit 0 on 2xx; otherwise exit 1 with one line \
            naming the entry, the status and whether the entry was queued for replay.

            Example:
              picus-journal request GET '/v1/simulations?limit=10' \\
                  --base-url http://127.0.0.1:8080
              picus-journal request POST /v1/simulations \\
                  --data '{"simulation_name":"nightly"}'
              picus-journal request POST /v1/simulations --data @simulation.json
            """)

    @Argument(help: ArgumentHelp("One of \(Self.methods.joined(separator: ", ")).", valueName: "method"))
    var method: String

    @Argument(help: ArgumentHelp("The path, with its query string if any.", valueName: "path"))
    var path: String

    @Option(help: ArgumentHelp("The JSON body, or @file to read it from a file.", valueName: "json|@file"))
    var data: String?

    @OptionGroup var journal: JournalOptions
    @OptionGroup var api: APIOptions

    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    func validate() throws {
        guard Self.methods.contains(method.uppercased()) else {
            throw ValidationError("'\(method)' is not an HTTP method; use one of \(Self.methods.joined(separator: ", "))")
        }
        guard path.hasPrefix("/") else {
            throw ValidationError("the path '\(path)' must start with /, like /v1/agents")
        }
        if let data, !data.hasPrefix("@"), JSONValue(parsing: Data(data.utf8)) == nil {
            throw ValidationError("--data is not valid JSON; pass a JSON document or @file")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let body = try readBody()
            let client = try api.makeClient { try journal.open(creating: true) }
            var request = APIRequest(method: method, path: path, body: body)
            if body != nil { request.headers["Content-Type"] = "application/json" }
            let delivery = try await client.send(request)
            // The outcome goes to stderr whatever becomes of the body on stdout.
            // A 2xx body as it came; an error body as the journal stored it (scrubbed of secrets), if JSON.
            var output: (any Error)?
            let printed = delivery.isSuccess ? (delivery.response?.bodyIssue == nil ? delivery.response?.body : nil)
                : delivery.error.flatMap { $0.kind == .json ? $0.raw : nil }
            if let printed, !printed.isEmpty {
                do {
                    try writeOut(printed)
                    if printed.last != UInt8(ascii: "\n") { try writeOut(Data("\n".utf8)) }
                } catch {
                    output = error
                }
            }
            if delivery.isSuccess, let issue = delivery.response?.bodyIssue {
                printError("\(delivery.summary), but its response body \(issue.summary); the body was not printed")
                throw ExitCode.failure
            }
            if delivery.isSuccess {
                note(delivery.summary)
            } else {
                printError(delivery.summary)
            }
            if let output { throw output }
            if !delivery.isSuccess { throw ExitCode.failure }
        }
    }

    private func readBody() throws -> Data? {
        guard let data else { return nil }
        guard data.hasPrefix("@") else { return Data(data.utf8) }
        let file = String(data.dropFirst())
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read the body file \(file); check that it exists and is readable (nothing was journaled)")
        }
        guard JSONValue(parsing: contents) != nil else {
            throw CLIError("the body file \(file) is not valid JSON (nothing was journaled)")
        }
        return contents
    }
}
