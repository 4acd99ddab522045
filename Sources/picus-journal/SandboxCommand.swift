import ArgumentParser
import Foundation
import PicusSandbox

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve the Picus API emulator until SIGINT or SIGTERM.",
        discussion: """
            It prints its URL on the first line. Its control API: POST /_sandbox/faults, DELETE /_sandbox/faults, \
            GET /_sandbox/requests, POST /_sandbox/tokens/expire, PUT|DELETE /_sandbox/rate-limits.

            Example:
              picus-journal sandbox --port 8080 &
              export PICUS_API_URL=http://127.0.0.1:8080 PICUS_REFRESH_TOKEN=sandbox-refresh-token
              curl -X POST $PICUS_API_URL/_sandbox/faults -d '{"status":503,"count":2}'
            """)

    @Option(help: "The port; 0 picks a free one.")
    var port: Int = 0

    @Option(help: "The refresh token the sandbox accepts.")
    var refreshToken: String = "sandbox-refresh-token"

    @Flag(help: "Serve without rate limits.")
    var noRateLimits = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard !refreshToken.isEmpty else { throw ValidationError("--refresh-token must not be empty") }
    }

    func run() async throws {
        try await reportingErrors {
            var configuration = noRateLimits ? PicusSandbox.Configuration.unlimited : PicusSandbox.Configuration()
            configuration.port = port
            configuration.refreshToken = refreshToken
            let signals = TerminationSignals()
            let sandbox = try await PicusSandbox.start(configuration: configuration)
            do {
                try writeOut(Data("""
                    \(sandbox.url.absoluteString)
                    PicusSandbox listening; refresh token: \(refreshToken). Stop with Ctrl-C.

                    """.utf8))
            } catch {
                await sandbox.stop()
                throw error
            }
            let stopper = Task {
                guard await signals.next() != nil else { return }
                await sandbox.stop()
            }
            defer { stopper.cancel() }
            do {
                try await sandbox.wait()
            } catch is CancellationError {
                // Stopped by a signal: a clean exit.
            }
        }
    }
}
