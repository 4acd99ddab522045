import Logging
import NIOCore
import PostgresNIO

extension PostgresConnection {
    /// Copies `rows`, in COPY's text format, into `table`, safely whenever the connection closes.
    ///
    /// postgres-nio 1.33.2 kills the process when a COPY takes its next step — a write, `CopyDone` or
    /// `CopyFail` — between the moment its connection closes and the moment the channel lets go of its
    /// handler (a later turn of the event loop): the handler still answers, its state machine is no
    /// longer in a query, and it trips a `preconditionFailure`. A deadline, a cancellation, or a server
    /// that drops the connection mid-COPY all open that window; a loaded machine widens it.
    ///
    /// So the COPY runs on the connection's own event loop, where nothing else runs between two of its
    /// steps, and every step it takes is preceded by a look at the connection: once it has closed, the
    /// COPY waits for the channel to finish closing (after which postgres-nio fails each step cleanly)
    /// and only then fails.
    func copy(_ rows: ByteBuffer, into table: String, columns: [String], logger: Logger) async throws {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop)) {
            try await copyFrom(table: table, columns: columns, logger: logger) { writer in
                try await failOnceClosed()
                do {
                    try await writer.write(rows)
                } catch {
                    try await failOnceClosed()
                    throw error
                }
                // Next, postgres-nio sends CopyDone, in this same turn of the event loop.
                try await failOnceClosed()
            }
        }
    }

    /// Throws, once the channel has finished closing, if the connection has closed; returns at once
    /// otherwise.
    private func failOnceClosed() async throws {
        guard isClosed else { return }
        try? await closeFuture.get()
        throw Interruption.connectionClosed
    }
}

/// Runs a task's jobs on one event loop, in line with the loop's own work.
private final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // Immutable; an event loop is thread-safe.
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
