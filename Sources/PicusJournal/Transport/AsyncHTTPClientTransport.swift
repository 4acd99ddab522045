#if AsyncHTTPClientTransport && canImport(AsyncHTTPClient)
import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import Tracing

/// The default ``HTTPTransport`` on Linux: AsyncHTTPClient on SwiftNIO.
///
/// Its client never follows a redirect, does not retry a failed connection (the journal's retry
/// policy decides that, with backoff and a durable record), and decompresses nothing. Use
/// ``shared`` — one client per process on NIO's singleton event loops, which needs no shutdown — or
/// make your own with ``init(configuration:)`` and ``shutdown()`` it when done.
public final class AsyncHTTPClientTransport: HTTPTransport {
    /// The process-wide transport, on NIO's singleton event loop group. It lives as long as the process.
    public static let shared = AsyncHTTPClientTransport(
        client: HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: defaultConfiguration),
        ownsClient: false)

    /// The client configuration the contract needs: no redirects, no connection retries, no decompression.
    public static var defaultConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(10))
        // The dispatcher makes the client span of each attempt and injects its context: a span of
        // AsyncHTTPClient's own would duplicate it, and its injection of the current context would
        // overwrite a replay's stored trace with the replayer's.
        configuration.tracing.tracer = nil
        return configuration
    }

    private let client: HTTPClient
    private let ownsClient: Bool

    /// A transport with its own client; call ``shutdown()`` before it goes away.
    ///
    /// - Parameter configuration: The client configuration. Keep redirects disallowed: the contract needs it.
    public convenience init(configuration: HTTPClient.Configuration = AsyncHTTPClientTransport.defaultConfiguration) {
        self.init(client: HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration),
                  ownsClient: true)
    }

    /// A transport over a client you own and shut down yourself.
    public convenience init(client: HTTPClient) {
        self.init(client: client, ownsClient: false)
    }

    private init(client: HTTPClient, ownsClient: Bool) {
        self.client = client
        self.ownsClient = ownsClient
    }

    /// Shuts down the client this transport made; does nothing for ``shared`` or a client you passed in.
    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    public func send(_ request: HTTPRequest, body: Data?, options: TransportOptions) async throws -> TransportResponse {
        guard let url = request.url else {
            throw TransportError(.other, "the request has no absolute URL", phase: .beforeSending)
        }
        // NIO narrows the port to 16 bits and traps on a wider one: such a URL is refused here.
        if let port = url.port, !(0...65535).contains(port) {
            throw TransportError(.other, "the port \(port) of \(url.host ?? "the URL") is not from 0 to 65535", phase: .beforeSending)
        }
        var outgoing = HTTPClientRequest(url: url.absoluteString)
        outgoing.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headerFields {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        if let body {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }
        let collector = ResponseCollector(options: options)
        let client = self.client
        let prepared = outgoing
        let deadline = NIODeadline.now() + .nanoseconds(Int64(options.timeout.timeInterval * 1_000_000_000))
        return try await collector.run(classify: Self.transportError) {
            let response = try await client.execute(prepared, deadline: deadline)
            var fields = HTTPFields()
            for (name, value) in response.headers {
                if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
            }
            collector.receive(head: HTTPResponse(status: .init(code: Int(response.status.code)), headerFields: fields))
            for try await chunk in response.body {
                guard collector.receive(chunk.readableBytesView) else { return }
            }
            // A cancelled body stream may simply end: that is a cut, not the whole body.
            try Task.checkCancellation()
        }
    }

    /// Classifies what AsyncHTTPClient and NIO throw by when it happened.
    static func transportError(_ error: any Error) -> TransportError {
        if let error = error as? TransportError { return error }
        if error is CancellationError { return TransportError(.cancelled, "the request was cancelled") }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return TransportError(.timeout, "could not connect in time", phase: .beforeSending)
            case .tlsHandshakeTimeout: return TransportError(.tls, "the TLS handshake timed out", phase: .beforeSending)
            case .invalidURL, .emptyHost, .emptyScheme:
                return TransportError(.other, String(describing: error), phase: .beforeSending)
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return TransportError(.timeout, "no response within the deadline", phase: .afterSending)
            case .remoteConnectionClosed:
                return TransportError(.reset, "the server closed the connection before answering", phase: .afterSending)
            case .cancelled: return TransportError(.cancelled, "the request was cancelled")
            default: return TransportError(.other, "the response could not be read: \(error)", phase: .afterSending)
            }
        }
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil || error.dnsAAAAError != nil, error.connectionErrors.isEmpty {
                return TransportError(.dns, "the host name \(error.host) did not resolve", phase: .beforeSending)
            }
            return TransportError(.refused, "cannot connect to \(error.host):\(error.port)", phase: .beforeSending)
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return TransportError(.refused, "the connection was refused", phase: .beforeSending)
            case ENETUNREACH, EHOSTUNREACH, ENETDOWN: return TransportError(.offline, "the network is unreachable", phase: .beforeSending)
            case ECONNRESET, EPIPE: return TransportError(.reset, "the connection was reset", phase: .afterSending)
            default: return TransportError(.other, "\(error)", phase: .afterSending)
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return TransportError(.timeout, "could not connect in time", phase: .beforeSending)
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed:
                return TransportError(.reset, "the connection closed: \(error)", phase: .afterSending)
            default: return TransportError(.other, "\(error)", phase: .afterSending)
            }
        }
        let text = String(describing: error)
        if text.contains("NIOSSL") || text.contains("handshake") || text.contains("certificate") {
            return TransportError(.tls, text, phase: .beforeSending)
        }
        // A parser error (a header too large, a malformed status line) and the like: the request left.
        return TransportError(.other, "the response could not be read: \(text)", phase: .afterSending)
    }
}
#endif
