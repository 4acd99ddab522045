import ArgumentParser
import Foundation
import PicusSandbox
import ServiceLifecycle

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Serve the Picus API emulator until SIGINT or SIGTERM.",
        discussion: """
            It prints its URL on the first line. Its control API:
            \(PicusSandbox.controlRoutes.map { "  \($0.route)  \($0.meaning)" }.joined(separator: "\n"))

            Example:
              picus-journal sandbox --port 8080 &
              export PICUS_API_URL=http://127.0.0.1:8080
              export PICUS_REFRESH_TOKEN=sandbox-refresh-token
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
            try await runUntilSignalled(SandboxService(configuration: configuration))
        }
    }
}

/// The sandbox as a service: serves until graceful shutdown.
struct SandboxService: Service {
    let configuration: PicusSandbox.Configuration

    func run() async throws {
        let sandbox = try await PicusSandbox.start(configuration: configuration)
        do {
            try writeOut(Data("""
                \(sandbox.url.absoluteString)
                PicusSandbox listening; refresh token: \(configuration.refreshToken). Stop with Ctrl-C.

                """.utf8))
            try await withGracefulShutdownHandler {
                try await sandbox.wait()
            } onGracefulShutdown: {
                Task { await sandbox.stop() }
            }
        } catch is CancellationError {
            // Stopped: a clean exit.
        } catch {
            await sandbox.stop()
            throw error
        }
    }
}
