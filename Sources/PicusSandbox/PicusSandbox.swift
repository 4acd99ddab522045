import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// An emulator of the Picus REST API over real HTTP, for tests, benchmarks, `demo` and `sandbox`.
///
/// It serves Picus-shaped JSON: the refresh-token exchange with expiring access tokens, the 401
/// bodies of Picus's response-codes page, agents, simulations (limit/offset, over 50 → 422),
/// templates, a 410 endpoint, and per-endpoint per-minute rate limits with `X-Ratelimit-*`.
/// Its control API under `/_sandbox/` scripts faults and lists what it received.
///
/// ```swift
/// let sandbox = try await PicusSandbox.start()      // 127.0.0.1, a free port
/// defer { Task { await sandbox.stop() } }
/// await sandbox.addFault(SandboxFault(status: 503, count: 2))
/// // … point a client at sandbox.url …
/// let received = await sandbox.receivedRequests()
/// ```
public final class PicusSandbox: Sendable {
    /// The control API beside the emulated Picus API, as `METHOD path` with what each does: the
    /// list `picus-journal sandbox --help` prints, held to the routes served by a test.
    public static let controlRoutes: [(route: String, meaning: String)] = [
        ("GET /_sandbox/health", "200 while it serves"),
        ("POST /_sandbox/faults", #"inject: {"status":503,"count":2,"path":"/v1/agents"}"#),
        ("DELETE /_sandbox/faults", "clear the faults"),
        ("GET /_sandbox/requests", "the requests received"),
        ("DELETE /_sandbox/requests", "forget them"),
        ("POST /_sandbox/tokens/expire", "expire every access token"),
        ("PUT /_sandbox/rate-limits", #"set limits: {"GET /v1/agents": 100}"#),
        ("DELETE /_sandbox/rate-limits", "remove every limit"),
        ("PUT /_sandbox/latency", #"answer after a delay: {"ms": 20}"#),
    ]

    /// How the sandbox behaves.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host = "127.0.0.1"
        /// The port; 0 picks a free one.
        public var port = 0
        /// The refresh token the auth exchange accepts.
        public var refreshToken = "sandbox-refresh-token"
        /// How long an access token lives. Picus says two hours.
        public var accessTokenLifetime: Duration = .seconds(7200)
        /// Send `expire_at` in epoch seconds (as the swagger shows) instead of milliseconds (as the docs show).
        public var expireAtInSeconds = false
        /// Per-endpoint per-minute limits, keyed `"GET /v1/agents"` or `"GET /v1/agents/{id}"`.
        public var rateLimits: [String: Int] = ["GET /v1/agents": 100, "GET /v1/templates/{id}": 2500]
        /// Whether endpoints without their own limit get the defaults below.
        public var limitsEveryEndpoint = true
        /// The per-minute limit of a read endpoint without its own.
        public var defaultReadLimit = 1000
        /// The per-minute limit of a write endpoint without its own.
        public var defaultWriteLimit = 300
        /// The rate-limit window: a minute, as the API's; shorter for a benchmark of pacing.
        public var rateLimitWindow: Duration = .seconds(60)
        /// Answer a repeated write with the same `Idempotency-Key` with the first answer instead of
        /// processing it again. Picus documents no such key, so this is off by default: it shows what
        /// a server that honours the key does for a replayed request it had processed.
        public var honoursIdempotencyKeys = false

        /// The default configuration: Picus's documented limits.
        public init() {}

        /// No rate limits at all: for benchmarks.
        public static var unlimited: Configuration {
            var configuration = Configuration()
            configuration.rateLimits = [:]
            configuration.limitsEveryEndpoint = false
            return configuration
        }
    }

    /// The base URL clients use: `http://127.0.0.1:PORT`.
    public let url: URL
    /// The port it listens on.
    public let port: Int
    let state: SandboxState
    private let group: ServiceGroup
    private let server: Task<Void, any Error>

    private init(url: URL, port: Int, state: SandboxState, group: ServiceGroup, server: Task<Void, any Error>) {
        self.url = url
        self.port = port
        self.state = state
        self.group = group
        self.server = server
    }

    /// Starts a sandbox and returns once it accepts connections.
    ///
    /// - Throws: When the address cannot be bound.
    public static func start(configuration: Configuration = Configuration(), logger: Logger? = nil) async throws -> PicusSandbox {
        let state = SandboxState(configuration: configuration)
        var logger = logger ?? Logger(label: "picus.sandbox")
        if logger.logLevel < .warning { logger.logLevel = .warning }
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let application = Application(
            responder: SandboxResponder(state: state),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: "picus-sandbox"),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [application], logger: logger))
        let server = Task {
            defer { portSink.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            server.cancel()
            let failure: (any Error)? = switch await server.result {
            case .failure(let error): error
            case .success: nil
            }
            throw SandboxError("cannot listen on \(configuration.host):\(configuration.port)\(failure.map { ": \($0)" } ?? "")")
        }
        let url = URL(string: "http://\(configuration.host):\(port)")!
        return PicusSandbox(url: url, port: port, state: state, group: group, server: server)
    }

    /// Stops the server gracefully — requests under way are answered — and waits until it has closed.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await server.result
    }

    /// Waits until the server stops: after ``stop()``, or when it fails.
    public func wait() async throws {
        try await server.value
    }

    /// Scripts a fault for the next matching requests.
    public func addFault(_ fault: SandboxFault) async { await state.addFault(fault) }
    /// Removes every scripted fault.
    public func clearFaults() async { await state.clearFaults() }
    /// Every request received outside `/_sandbox/`, in order.
    public func receivedRequests() async -> [ReceivedRequest] { await state.receivedRequests() }
    /// Forgets the received requests.
    public func clearReceivedRequests() async { await state.clearReceivedRequests() }
    /// The access tokens issued and not yet expired.
    public func issuedAccessTokens() async -> [String] { await state.issuedAccessTokens() }
    /// Expires every access token, so the next request gets a 401.
    public func expireAccessTokens() async { await state.expireAccessTokens() }
    /// Delays every answer by this much (nil for none): a slow API.
    public func setLatency(_ latency: Duration?) async { await state.setLatency(latency) }
    /// Waits until the requests received satisfy `condition`, then returns them all. Lets a test
    /// wait for another process's request without sleeping.
    public func receivedRequests(where condition: @escaping @Sendable ([ReceivedRequest]) -> Bool) async -> [ReceivedRequest] {
        await state.received(where: condition)
    }
    /// Sets or removes (nil) the per-minute limit of an endpoint such as `"GET /v1/agents"`.
    public func setRateLimit(_ limit: Int?, for endpoint: String) async { await state.setRateLimit(limit, for: endpoint) }
}

/// A failure to start the sandbox.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Carries requests from Hummingbird to the sandbox state and its replies back.
struct SandboxResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let state: SandboxState

    func respond(to request: Request, context: Context) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = field.value
        }
        let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
        let body = Data(buffer.readableBytesView)
        let query = request.uri.query.flatMap { $0.isEmpty ? nil : $0 }
        let reply = await state.handle(method: request.method.rawValue, path: request.uri.path, query: query,
                                       headers: headers, body: body, now: Date())
        if let delay = reply.delay {
            try await Task.sleep(for: delay)
        }
        var fields = HTTPFields()
        for (name, value) in reply.headers {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        return Response(status: .init(code: reply.status), headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
