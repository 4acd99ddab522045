import Foundation
import NIOCore
import NIOPosix

/// A TCP proxy on 127.0.0.1 and a free port in front of a real server, which a test breaks at will:
/// it cuts every connection (both sides closed, new ones refused until ``restore()``), or blackholes
/// them (the sockets stay open, every byte either way is dropped: a route that died without a word).
///
/// A break can be armed to happen by itself once the client sent a number of bytes, so that it lands
/// in the middle of a ship. The test waits for what the proxy observes, never for time.
package final class TCPProxy: @unchecked Sendable {
    /// What the proxy does with the bytes it receives.
    package enum Mode: Sendable {
        case forwarding
        /// Bytes are dropped, sockets stay open; new connections are accepted and dropped the same way.
        case blackholed
        /// Connections are closed as they come.
        case cut
    }

    /// What the proxy observed so far.
    package struct Counters: Sendable {
        /// Bytes forwarded from clients to the server.
        package var forwardedFromClients = 0
        /// Bytes dropped, either way, while blackholed.
        package var dropped = 0
    }

    /// The port clients connect to.
    package var port: Int { lock.withLock { server?.localAddress?.port ?? 0 } }

    private let targetHost: String
    private let targetPort: Int

    // Guarded by `lock`: read and changed from NIO's event loops and from the test.
    private let lock = NSLock()
    private var server: (any Channel)?
    private var mode = Mode.forwarding
    private var counters = Counters()
    private var armed: (atClientBytes: Int, mode: Mode)?
    private var pairs: [ObjectIdentifier: Pair] = [:]
    private var waiters: [(condition: @Sendable (Counters) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []

    private init(targetHost: String, targetPort: Int) {
        self.targetHost = targetHost
        self.targetPort = targetPort
    }

    /// Starts a proxy to `host`:`port`.
    package static func start(to host: String, port: Int) async throws -> TCPProxy {
        let proxy = TCPProxy(targetHost: host, targetPort: port)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Relay(proxy: proxy, pair: proxy.register(client: child), fromClient: true))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        proxy.lock.withLock { proxy.server = server }
        return proxy
    }

    /// A proxy to the test PostgreSQL, and the URL of `url`'s database through it.
    package static func toTestPostgres(_ url: String) async throws -> (proxy: TCPProxy, url: String) {
        guard var components = URLComponents(string: url) else { throw TestPostgresError(description: "\(url) is not a URL") }
        let proxy = try await start(to: components.host ?? "127.0.0.1", port: components.port ?? 5432)
        components.port = proxy.port
        guard let proxied = components.string else { throw TestPostgresError(description: "cannot point \(url) at the proxy") }
        return (proxy, proxied)
    }

    /// Drops every byte from now on, either way, leaving the sockets open.
    package func blackhole() {
        lock.withLock { mode = .blackholed }
    }

    /// Cuts or blackholes once clients have sent `bytes` more to the server.
    package func breakConnections(_ mode: Mode, afterClientBytes bytes: Int) {
        lock.withLock { armed = (counters.forwardedFromClients + bytes, mode) }
    }

    /// Forwards again, for new connections: the ones open since a break carry a broken stream, and are closed.
    package func restore() {
        closeAll(settingMode: .forwarding)
    }

    /// The bytes forwarded from clients to the server so far.
    package func forwarded() async -> Int {
        lock.withLock { counters.forwardedFromClients }
    }

    /// Returns once the counters satisfy `condition`.
    package func until(_ condition: @escaping @Sendable (Counters) -> Bool) async {
        await withCheckedContinuation { continuation in
            let isMet = lock.withLock {
                if condition(counters) { return true }
                waiters.append((condition, continuation))
                return false
            }
            if isMet { continuation.resume() }
        }
    }

    /// Stops listening and closes every connection.
    package func stop() async {
        closeAll(settingMode: .cut)
        try? await lock.withLock { server }?.close()
    }

    // MARK: Relaying

    /// What to do with bytes just received.
    fileprivate enum Route {
        case forward
        case drop
        case cutEverything
    }

    fileprivate func route(_ bytes: Int, fromClient: Bool) -> Route {
        let (route, resumed) = lock.withLock { () -> (Route, [CheckedContinuation<Void, Never>]) in
            var route: Route
            switch mode {
            case .forwarding: route = .forward
            case .blackholed: route = .drop
            case .cut: route = .cutEverything
            }
            if route == .forward, fromClient, let armed, counters.forwardedFromClients + bytes >= armed.atClientBytes {
                self.armed = nil
                mode = armed.mode
                route = armed.mode == .cut ? .cutEverything : .drop
            }
            switch route {
            case .forward where fromClient: counters.forwardedFromClients += bytes
            case .drop: counters.dropped += bytes
            default: break
            }
            return (route, metWaiters())
        }
        for continuation in resumed { continuation.resume() }
        if route == .cutEverything { closeAll(settingMode: .cut) }
        return route
    }

    fileprivate func register(client: any Channel) -> Pair {
        let pair = Pair(client: client)
        let resumed = lock.withLock {
            pairs[ObjectIdentifier(pair)] = pair
            return metWaiters()
        }
        for continuation in resumed { continuation.resume() }
        return pair
    }

    fileprivate func forget(_ pair: Pair) {
        _ = lock.withLock { pairs.removeValue(forKey: ObjectIdentifier(pair)) }
    }

    fileprivate var currentMode: Mode { lock.withLock { mode } }

    fileprivate var target: (host: String, port: Int) { (targetHost, targetPort) }

    private func closeAll(settingMode newMode: Mode) {
        let open = lock.withLock {
            mode = newMode
            return Array(pairs.values)
        }
        for pair in open { pair.close() }
    }

    /// The waiters whose condition now holds, removed; called with the lock held.
    private func metWaiters() -> [CheckedContinuation<Void, Never>] {
        var met: [CheckedContinuation<Void, Never>] = []
        waiters.removeAll { waiter in
            guard waiter.condition(counters) else { return false }
            met.append(waiter.continuation)
            return true
        }
        return met
    }
}

/// A client's connection and the proxy's connection to the server on its behalf.
private final class Pair: @unchecked Sendable {
    // Guarded by `lock`: the server side is set from an event loop once connected.
    private let lock = NSLock()
    package let client: any Channel
    private var server: (any Channel)?

    package init(client: any Channel) {
        self.client = client
    }

    package func connected(to server: any Channel) {
        lock.withLock { self.server = server }
    }

    package func partner(ofClient fromClient: Bool) -> (any Channel)? {
        fromClient ? lock.withLock { server } : client
    }

    package func close() {
        client.close(promise: nil)
        lock.withLock { server }?.close(promise: nil)
    }
}

/// Relays the bytes one side of a pair receives to the other side, as the proxy's mode says.
private final class Relay: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private let proxy: TCPProxy
    private let pair: Pair
    private let fromClient: Bool

    package init(proxy: TCPProxy, pair: Pair, fromClient: Bool) {
        self.proxy = proxy
        self.pair = pair
        self.fromClient = fromClient
    }

    package func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        guard fromClient else { return }
        guard proxy.currentMode != .cut else {
            context.close(promise: nil)
            return
        }
        let (proxy, pair, client) = (proxy, pair, context.channel)
        ClientBootstrap(group: context.eventLoop)
            .channelInitializer { server in
                server.eventLoop.makeCompletedFuture {
                    try server.pipeline.syncOperations.addHandler(Relay(proxy: proxy, pair: pair, fromClient: false))
                }
            }
            .connect(host: proxy.target.host, port: proxy.target.port)
            .whenComplete { result in
                switch result {
                case .success(let server):
                    pair.connected(to: server)
                    client.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in client.close(promise: nil) }
                case .failure:
                    client.close(promise: nil)
                }
            }
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch proxy.route(buffer.readableBytes, fromClient: fromClient) {
        case .forward: pair.partner(ofClient: fromClient)?.writeAndFlush(buffer, promise: nil)
        case .drop, .cutEverything: break
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        // One side gone: the other follows, as a real connection would end.
        proxy.forget(pair)
        pair.close()
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
