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
    /// Closes the connection's socket without waiting, as a network that drops it would: every
    /// operation waiting on it fails, and the socket is let go.
    ///
    /// The socket is closed beneath postgres-nio's handler, not through it: in postgres-nio 1.33.2 a
    /// close that reaches the handler while a COPY waits to send its data trips a `preconditionFailure`
    /// and kills the process, while a socket that closes under it is handled as a lost connection
    /// (the connection's state machine fails the COPY and cleans up). postgres-nio keeps the channel
    /// internal, so it is read by reflection; without it the connection is closed the usual way.
    func closeNow() {
        guard let channel = Mirror(reflecting: self).children.first(where: { $0.label == "channel" })?.value as? any Channel else {
            let _: EventLoopFuture<Void> = close()
            return
        }
        channel.eventLoop.execute {
            let closer = SocketCloser()
            guard (try? channel.pipeline.syncOperations.addHandler(closer, position: .first)) != nil else {
                channel.close(promise: nil)
                return
            }
            closer.close()
        }
    }
}

/// A handler at the head of a pipeline, from where a close goes to the socket without passing the
/// handlers behind it. Used on its channel's event loop only.
private final class SocketCloser: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func close() {
        context?.close(promise: nil)
    }
}
