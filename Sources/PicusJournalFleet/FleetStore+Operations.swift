import Foundation
import NIOCore
import PicusJournal
import PostgresNIO

/// Every step on the connection goes through here, held to ``FleetStore/Configuration/operationTimeout``.
extension FleetStore {
    /// Runs one step on the connection, turning any failure into a one-line ``FleetError``.
    ///
    /// The step loses to its deadline, to the connection closing, and to the caller's cancellation;
    /// the deadline and the cancellation close the connection, which is then of no further use.
    ///
    /// - Throws: ``FleetError``, or `CancellationError` when the calling task was cancelled.
    @discardableResult
    func run<T: Sendable>(_ action: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let connection = connection
        // A query written to a connection that has closed would wait for an answer that never comes.
        guard !connection.isClosed else { throw lostConnection(doing: action) }
        do {
            return try await Race.run(deadline: configuration.operationTimeout, watch: watch, giveUp: { connection.closeNow() }) {
                try await body(connection)
            }
        } catch {
            throw failure(error, doing: action)
        }
    }

    /// The rows of a compiled query, each passed to `each` as it arrives.
    ///
    /// The wait for each row is held to the deadline, not the whole result: an export of a million
    /// entries takes as long as it takes, as long as PostgreSQL keeps sending.
    func forEachRow(_ fragment: SQLFragment, _ action: String, _ each: (PostgresRandomAccessRow) throws -> Void) async throws {
        var binds = PostgresBindings(capacity: fragment.values.count)
        for value in fragment.values {
            switch value {
            case .integer(let number): binds.append(number)
            case .text(let text): binds.append(text)
            }
        }
        let query = PostgresQuery(unsafeSQL: fragment.sql, binds: binds)
        let logger = logger
        let rows = try await run(action) { try await $0.query(query, logger: logger) }

        let connection = connection
        let wait = RowWait()
        let timeout = configuration.operationTimeout
        // Once the query answered, its rows arrive through postgres-nio's row stream, which fails
        // when the connection closes: closing it is how a late row is given up on.
        let watchdog = Task {
            while let due = wait.due(timeout) {
                do { try await Task.sleep(until: due, clock: .continuous) } catch { return }
                if wait.expireIfOverdue(timeout) {
                    connection.closeNow()
                    return
                }
            }
        }
        defer { watchdog.cancel() }
        do {
            try await withTaskCancellationHandler {
                var iterator = rows.makeAsyncIterator()
                while true {
                    wait.begin()
                    guard let row = try await iterator.next() else { break }
                    wait.end()
                    try each(row.makeRandomAccess())
                }
                wait.finish()
            } onCancel: {
                connection.closeNow()
            }
        } catch {
            wait.finish()
            if Task.isCancelled { throw CancellationError() }
            throw failure(wait.hasExpired ? Interruption.deadline : error, doing: action)
        }
    }

    /// What a failed step means for the caller, in one line.
    func failure(_ error: any Error, doing action: String) -> any Error {
        switch error {
        case is CancellationError:
            return error
        case Interruption.deadline:
            return FleetError(
                "PostgreSQL at \(fleetLocation.host):\(fleetLocation.port) did not answer within \(configuration.operationTimeout.secondsDescription) when asked to \(action); gave up on the connection",
                isTransient: true)
        case Interruption.connectionClosed:
            return lostConnection(doing: action)
        default:
            return FleetError.wrapping(error, at: fleetLocation, doing: action)
        }
    }

    private func lostConnection(doing action: String) -> FleetError {
        FleetError("lost the connection to PostgreSQL at \(fleetLocation.host):\(fleetLocation.port) while trying to \(action)", isTransient: true)
    }
}

/// Since when a result's reader has waited for its next row, for the watchdog that gives up on it.
private final class RowWait: @unchecked Sendable {
    // Guarded by `lock`: the reader marks its waits, the watchdog reads them from another task.
    private let lock = NSLock()
    private var since: ContinuousClock.Instant?
    private var isFinished = false
    private var expired = false

    func begin() { lock.withLock { since = .now } }
    func end() { lock.withLock { since = nil } }
    func finish() { lock.withLock { isFinished = true } }

    /// Whether the watchdog gave up on the wait.
    var hasExpired: Bool { lock.withLock { expired } }

    /// When the current wait runs out — a whole `timeout` from now while the reader is busy with a
    /// row — or nil once the reader is done.
    func due(_ timeout: Duration) -> ContinuousClock.Instant? {
        lock.withLock { isFinished ? nil : (since ?? .now) + timeout }
    }

    /// Marks the wait expired when it has lasted `timeout`; returns whether it did.
    func expireIfOverdue(_ timeout: Duration) -> Bool {
        lock.withLock {
            guard !isFinished, let since, since + timeout <= .now else { return false }
            expired = true
            return true
        }
    }
}
