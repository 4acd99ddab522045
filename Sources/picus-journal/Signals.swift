import Logging
import ServiceLifecycle
import UnixSignals

/// Runs a service in a `ServiceGroup` that turns SIGINT and SIGTERM into graceful shutdown; the
/// group traps them before the service starts. The group's own log lines are not for the terminal.
func runUntilSignalled(_ service: some Service) async throws {
    let logger = Logger(label: "picus-journal") { _ in SwiftLogNoOpLogHandler() }
    let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
}
