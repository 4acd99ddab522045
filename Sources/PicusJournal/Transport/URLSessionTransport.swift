import Foundation
import HTTPTypes
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An ``HTTPTransport`` over Foundation's `URLSession`: the default on Apple platforms.
///
/// It keeps the transport contract through a session delegate: redirects are refused (the `3xx` is
/// the answer), the body is read chunk by chunk within the limits, and the attempt's deadline cancels
/// the task wherever it is. It keeps no cookies and no cache, so that every attempt the journal
/// records is what the server really answered.
public final class URLSessionTransport: HTTPTransport {
    /// A process-wide transport.
    public static let shared = URLSessionTransport()

    private let session: URLSession
    private let router: Router

    /// A transport with its own ephemeral session.
    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        router = Router()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: router, delegateQueue: queue)
    }

    deinit {
        session.invalidateAndCancel()
    }

    public func send(_ request: HTTPRequest, body: Data?, options: TransportOptions) async throws -> TransportResponse {
        guard let url = request.url else {
            throw TransportError(.other, "the request has no absolute URL", phase: .beforeSending)
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method.rawValue
        urlRequest.timeoutInterval = options.timeout.timeInterval
        for field in request.headerFields {
            urlRequest.addValue(field.value, forHTTPHeaderField: field.name.rawName)
        }
        urlRequest.httpBody = body
        let collector = ResponseCollector(options: options)
        let task = session.dataTask(with: urlRequest)
        let router = self.router
        return try await collector.run(classify: Self.transportError) {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    router.register(task, collector: collector, continuation: continuation)
                    // Cancelled before the registration (the deadline, or the caller): the handler
                    // below found nothing to end, so it is ended here.
                    if Task.isCancelled {
                        router.cancel(task)
                    } else {
                        task.resume()
                    }
                }
            } onCancel: {
                router.cancel(task)
            }
        }
    }

    /// Classifies a `URLError` by kind and by when it happened.
    static func transportError(_ error: any Error) -> TransportError {
        if let error = error as? TransportError { return error }
        if error is CancellationError { return TransportError(.cancelled, "the request was cancelled") }
        guard let error = error as? URLError else {
            return TransportError(.other, String(describing: error), phase: .afterSending)
        }
        let message = error.localizedDescription
        switch error.code {
        case .notConnectedToInternet, .dataNotAllowed, .internationalRoamingOff, .callIsActive:
            return TransportError(.offline, message, phase: .beforeSending)
        case .cannotConnectToHost: return TransportError(.refused, message, phase: .beforeSending)
        case .cannotFindHost, .dnsLookupFailed: return TransportError(.dns, message, phase: .beforeSending)
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected,
            .clientCertificateRequired:
            return TransportError(.tls, message, phase: .beforeSending)
        case .networkConnectionLost: return TransportError(.reset, message, phase: .afterSending)
        case .timedOut: return TransportError(.timeout, message, phase: .afterSending)
        case .cancelled: return TransportError(.cancelled, "the request was cancelled")
        default: return TransportError(.other, message, phase: .afterSending)
        }
    }
}

extension URLSessionTransport {
    /// Routes the session's delegate calls to the collector of each task.
    private final class Router: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        // `tasks` is touched under `lock`: registration runs on the caller's thread, callbacks on the
        // session's serial delegate queue.
        private let lock = NSLock()
        private var tasks: [Int: (collector: ResponseCollector, continuation: CheckedContinuation<Void, any Error>, stopped: Bool)] = [:]

        func register(_ task: URLSessionTask, collector: ResponseCollector, continuation: CheckedContinuation<Void, any Error>) {
            lock.withLock { tasks[task.taskIdentifier] = (collector, continuation, false) }
        }

        /// Ends a task's wait at once, then cancels the task: the wait does not count on the session's
        /// `didCompleteWithError` after a cancel. Once, on Linux, it never came: a CI run of the
        /// drip-the-head conformance test sat with every thread idle until the suite's one-minute
        /// limit, long after its one-second deadline had cancelled the task.
        func cancel(_ task: URLSessionTask) {
            let entry = lock.withLock { tasks.removeValue(forKey: task.taskIdentifier) }
            entry?.continuation.resume(throwing: CancellationError())
            task.cancel()
        }

        private func collector(of task: URLSessionTask) -> ResponseCollector? {
            lock.withLock { tasks[task.taskIdentifier]?.collector }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            // Never follow: the redirect is the answer, and the token stays with the configured origin.
            completionHandler(nil)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
            if let http = response as? HTTPURLResponse, let collector = collector(of: dataTask) {
                var fields = HTTPFields()
                for (name, value) in http.allHeaderFields {
                    if let name = HTTPField.Name(String(describing: name)) {
                        fields.append(HTTPField(name: name, value: String(describing: value)))
                    }
                }
                collector.receive(head: HTTPResponse(status: .init(code: http.statusCode), headerFields: fields))
            }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard let collector = collector(of: dataTask), !collector.receive(data) else { return }
            lock.withLock { tasks[dataTask.taskIdentifier]?.stopped = true }
            dataTask.cancel()
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            guard let entry = lock.withLock({ tasks.removeValue(forKey: task.taskIdentifier) }) else { return }
            if let error, !entry.stopped {
                entry.continuation.resume(throwing: error)
            } else {
                entry.continuation.resume()
            }
        }
    }
}
