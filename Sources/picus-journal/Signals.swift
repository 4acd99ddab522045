import Logging
import ServiceLifecycle
import UnixSignals

/// Runs services in a `ServiceGroup` that turns SIGINT and SIGTERM into graceful shutdown and SIGQUIT
/// into cancellation (stop now: requests under way are still recorded, nothing new starts); the group
/// traps them before the services start. When one service ends or fails, the group stops.
/// The group's own log lines are not for the terminal.
func runUntilSignalled(_ services: any Service...) async throws {
    let logger = Logger(label: "picus-journal") { _ in SwiftLogNoOpLogHandler() }
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [.sigquit],
                             logger: logger)
    try await group.run()
}
