import Foundation
import NIOCore
import PostgresNIO

/// The operations waiting on one connection, failed together the moment it closes: an operation
/// does not learn it otherwise when postgres-nio drops its promise.
final class ConnectionWatch: @unchecked Sendable {
    // Guarded by `lock`: added to and removed from by each operation, drained by the close callback.
    private let lock = NSLock()
    private var waiting: [Int: @Sendable () -> Void] = [:]
    private var nextKey = 0
    private var isClosed = false

    /// Starts watching a connection, given the future its channel completes on closing.
    init(closeFuture: EventLoopFuture<Void>) {
        closeFuture.whenComplete { [self] _ in
            lock.lock()
            isClosed = true
            let callbacks = waiting.values
            waiting.removeAll()
            lock.unlock()
            for callback in callbacks { callback() }
        }
    }

    /// Registers `onClose`; it runs at once if the connection has closed already.
    func add(_ onClose: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        guard !isClosed else {
            lock.unlock()
            onClose()
            return -1
        }
        nextKey += 1
        let key = nextKey
        waiting[key] = onClose
        lock.unlock()
        return key
    }

    /// Forgets a registration once its operation is over.
    func remove(_ key: Int) {
        lock.lock()
        waiting[key] = nil
        lock.unlock()
    }
}

extension PostgresConnection {
    /// Starts closing the connection without waiting: every operation waiting on it fails, and the
    /// socket is let go.
    func closeNow() {
        let _: EventLoopFuture<Void> = close()
    }
}
