import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PicusJournal
import Prometheus
import ServiceLifecycle

/// `replay --watch --metrics HOST:PORT`: `/metrics` in Prometheus's text format and `/healthz`,
/// served beside the replayer until graceful shutdown.
struct MetricsEndpoint: Service {
    let address: MetricsAddress
    let registry: PrometheusCollectorRegistry
    let engine: ReplayEngine
    /// Where the address is announced: stdout beside text, stderr beside NDJSON.
    let format: ReplayCommand.ReplayFormat
    /// Opens once the endpoint listens; the replayer waits for it.
    let listening = ListeningSignal()

    func run() async throws {
        let router = Router()
        let engine = self.engine
        let registry = self.registry
        router.get("/metrics") { _, _ -> Response in
            // The gauges are read off the journal at each scrape, so they are never older than the scrape.
            _ = await engine.health()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/healthz") { _, _ -> Response in
            let health = await engine.health()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = ((try? encoder.encode(health)) ?? Data(#"{"status":"unhealthy"}"#.utf8)) + Data("\n".utf8)
            return Response(status: health.isHealthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        let address = self.address
        let format = self.format
        let listening = self.listening
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "picus-journal"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                format.tell("Serving metrics at http://\(address.urlHost):\(port)/metrics and health at /healthz.")
                listening.open()
            },
            logger: Logger(label: "picus.metrics") { _ in SwiftLogNoOpLogHandler() })
        do {
            try await application.run()
        } catch is CancellationError {
            return
        } catch {
            throw CLIError("cannot serve metrics on \(address): \(describe(error))")
        }
    }
}

/// Tells the replayer that the metrics endpoint listens. `replay --watch --metrics` replays nothing
/// before then: an address it cannot bind (a port in use) ends the command before any entry is sent.
final class ListeningSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream<Void>.makeStream()
    }

    /// Marks the endpoint as listening.
    func open() {
        continuation.yield()
        continuation.finish()
    }

    /// Waits for the endpoint to listen; false when the waiting task is cancelled first (the
    /// endpoint failed, or the command is shutting down). One task waits.
    func wait() async -> Bool {
        for await _ in stream { return true }
        return false
    }
}

/// Where `--metrics` listens: `HOST:PORT`, `[IPv6]:PORT`; port 0 picks a free one.
struct MetricsAddress: Sendable, CustomStringConvertible {
    let host: String
    let port: Int

    init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            guard !hostPart.contains(":") else { return nil }
        }
        guard !hostPart.isEmpty, hostPart.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }),
            let port = Int(portPart), (0...65535).contains(port)
        else { return nil }
        host = String(hostPart)
        self.port = port
    }

    /// The host as a URL writes it.
    var urlHost: String { host.contains(":") ? "[\(host)]" : host }

    var description: String { "\(urlHost):\(port)" }
}
