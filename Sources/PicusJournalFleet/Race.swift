import Foundation

/// One operation on PostgreSQL raced against its deadline, the connection closing and the caller's
/// cancellation: the first of them settles it.
///
/// The operation runs in a task of its own and is abandoned, not awaited, when it loses. postgres-nio
/// can leave an operation waiting forever: a query written to a connection that has just closed has
/// its promise dropped with the write. Awaiting such an operation — even in a task group, which waits
/// for its children — would hang its caller; an abandoned one only holds its memory.
final class Race<Value: Sendable>: @unchecked Sendable {
    // Guarded by `lock`: settled once, by whichever of the operation, the deadline, the close watch
    // and the cancellation handler gets there first, from any thread.
    private let lock = NSLock()
    private var result: Result<Value, any Error>?
    private var continuation: CheckedContinuation<Value, any Error>?

    private init() {}

    /// Settles the race, unless it was settled already; returns whether this call settled it.
    @discardableResult
    func settle(_ result: Result<Value, any Error>) -> Bool {
        let waiting: CheckedContinuation<Value, any Error>?
        lock.lock()
        guard self.result == nil else {
            lock.unlock()
            return false
        }
        self.result = result
        waiting = continuation
        continuation = nil
        lock.unlock()
        waiting?.resume(with: result)
        return true
    }

    private func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if let result {
                lock.unlock()
                continuation.resume(with: result)
            } else {
                self.continuation = continuation
                lock.unlock()
            }
        }
    }

    /// Runs `operation` until it ends, `deadline` passes, `watch` reports the connection closed, or
    /// the calling task is cancelled, whichever comes first.
    ///
    /// - Parameters:
    ///   - deadline: How long the operation may take.
    ///   - watch: Fails the race the moment the connection closes; nil before there is a connection.
    ///   - giveUp: Runs once when the deadline or the cancellation wins: it closes the connection, so
    ///     that nothing keeps using it.
    ///   - discard: Receives a value the operation produced after it lost (a connection made too late).
    ///   - operation: The operation.
    /// - Throws: The operation's error, an ``Interruption``, or `CancellationError`.
    static func run(
        deadline: Duration, watch: ConnectionWatch?, giveUp: @escaping @Sendable () -> Void,
        discard: @escaping @Sendable (Value) -> Void = { _ in },
        _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let race = Race()
        let running = Task {
            do {
                let value = try await operation()
                if !race.settle(.success(value)) { discard(value) }
            } catch {
                race.settle(.failure(error))
            }
        }
        let timer = Task {
            do { try await Task.sleep(for: deadline) } catch { return }
            if race.settle(.failure(Interruption.deadline)) {
                giveUp()
                running.cancel()
            }
        }
        let registration = watch?.add { race.settle(.failure(Interruption.connectionClosed)) }
        defer {
            timer.cancel()
            if let registration { watch?.remove(registration) }
        }
        return try await withTaskCancellationHandler {
            try await race.value()
        } onCancel: {
            if race.settle(.failure(CancellationError())) {
                giveUp()
                running.cancel()
            }
        }
    }
}

/// Why an operation on PostgreSQL was given up on before it ended by itself.
enum Interruption: Error {
    /// Its deadline passed.
    case deadline
    /// The connection closed while it waited.
    case connectionClosed
}
