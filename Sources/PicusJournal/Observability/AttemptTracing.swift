import Foundation
import HTTPTypes
import Tracing

/// A client span per attempt, and the trace context every attempt carries.
///
/// A live send's span is a child of the caller's context. A replay's span continues the trace the
/// entry was written in — the stored context is its parent, whatever process replays it and however
/// late — and links to the replayer's own context. Every attempt carries the span's context
/// (`traceparent`, `tracestate`); with no tracer, the stored context is passed on unchanged, so
/// the API still sees the caller's trace.
package struct AttemptTracing: Sendable {
    /// The tracer spans go to; nil (or a no-op tracer) makes none.
    let tracer: (any Tracer)?

    init(tracer: (any Tracer)?) {
        self.tracer = tracer.flatMap { $0 is NoOpTracer ? nil : $0 }
    }

    /// The context of the task writing an entry, to keep with it: what the tracer injects from
    /// `ServiceContext.current`, else a context set as `ServiceContext.picusTraceContext`.
    func callerContext() -> TraceContext? {
        guard let current = ServiceContext.current else { return nil }
        if let tracer {
            var fields: [String: String] = [:]
            tracer.inject(current, into: &fields, using: DictionaryCarrier())
            if let context = TraceContext(fields: fields) { return context }
        }
        return current.picusTraceContext
    }

    /// Starts the span of one attempt.
    ///
    /// - Parameters:
    ///   - entry: The entry being sent.
    ///   - caller: The live caller's context; nil for a replay, whose parent is the stored context.
    ///   - number: The attempt's number.
    ///   - request: The request about to be sent.
    func startSpan(for entry: Entry, caller: ServiceContext?, number: Int, request: HTTPRequest) -> (any Span)? {
        guard let tracer else { return nil }
        var parent = caller ?? .topLevel
        if let stored = entry.traceContext, !carriesSpan(parent, tracer: tracer) {
            tracer.extract(stored.fields, into: &parent, using: DictionaryCarrier())
            parent.picusTraceContext = stored
        }
        let template = String(entry.endpoint.drop(while: { $0 != " " }).dropFirst())
        let span = tracer.startSpan("\(entry.method) \(template)", context: parent, ofKind: .client)
        if caller == nil, let replayer = ServiceContext.current, carriesSpan(replayer, tracer: tracer) {
            span.addLink(SpanLink(context: replayer, attributes: ["picus.link": "replayer"]))
        }
        span.updateAttributes { attributes in
            attributes["http.request.method"] = entry.method
            attributes["url.full"] = Self.redactedURL(request)
            attributes["url.template"] = template
            attributes["server.address"] = request.authority.map(Self.host(ofAuthority:))
            attributes["server.port"] = Self.port(of: request)
            if number > 1 { attributes["http.request.resend_count"] = number - 1 }
            attributes["picus.entry.uuid"] = entry.uuid.uuidString.lowercased()
            attributes["picus.endpoint"] = entry.endpoint
        }
        return span
    }

    /// Starts the span of a token exchange, a child of the caller's context. Its URL has no query, and
    /// the exchange's body and answer (the tokens) are never attributes.
    func startSpan(exchanging request: HTTPRequest) -> (any Span)? {
        guard let tracer else { return nil }
        let template = request.path.map { String($0.prefix { $0 != "?" }) } ?? "/"
        let span = tracer.startSpan("\(request.method.rawValue) \(template)", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.full"] = Self.redactedURL(request)
            attributes["url.template"] = template
            attributes["server.address"] = request.authority.map(Self.host(ofAuthority:))
            attributes["server.port"] = Self.port(of: request)
            attributes["picus.token_exchange"] = true
        }
        return span
    }

    /// The trace context the attempt carries: the span's, or with no span, the stored one.
    func inject(_ span: (any Span)?, stored: TraceContext?, into fields: inout HTTPFields) {
        if let span, let tracer {
            tracer.inject(span.context, into: &fields, using: HTTPFieldsCarrier())
        } else if let stored {
            for (name, value) in stored.fields {
                if let name = HTTPField.Name(name) { fields[name] = value }
            }
        }
    }

    /// Ends an attempt's span with its status: an error from 400 up, as OpenTelemetry's HTTP client conventions say.
    func end(_ span: (any Span)?, status: Int) {
        guard let span else { return }
        span.attributes["http.response.status_code"] = status
        if status >= 400 {
            span.attributes["error.type"] = String(status)
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
    }

    /// Ends an attempt's span that got no response.
    func end(_ span: (any Span)?, failure: TransportError) {
        guard let span else { return }
        span.attributes["error.type"] = failure.kind.rawValue
        span.recordError(failure)
        span.setStatus(SpanStatus(code: .error, message: failure.kind.rawValue))
        span.end()
    }

    private func carriesSpan(_ context: ServiceContext, tracer: any Tracer) -> Bool {
        var fields: [String: String] = [:]
        tracer.inject(context, into: &fields, using: DictionaryCarrier())
        return !fields.isEmpty
    }

    /// The URL without user, password or secret query parameters.
    private static func redactedURL(_ request: HTTPRequest) -> String? {
        guard let url = request.url, var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return nil }
        components.user = nil
        components.password = nil
        if let query = components.percentEncodedQuery { components.percentEncodedQuery = Redactor.query(query) }
        return components.string
    }

    private static func host(ofAuthority authority: String) -> String {
        let hostPart = authority.split(separator: "@").last.map(String.init) ?? authority
        if hostPart.hasPrefix("["), let end = hostPart.firstIndex(of: "]") {
            return String(hostPart[hostPart.index(after: hostPart.startIndex)..<end])
        }
        return String(hostPart.split(separator: ":").first ?? Substring(hostPart))
    }

    private static func port(of request: HTTPRequest) -> Int? {
        if let port = request.url.flatMap({ URLComponents(url: $0, resolvingAgainstBaseURL: false)?.port }) { return port }
        switch request.scheme {
        case "https": return 443
        case "http": return 80
        default: return nil
        }
    }
}

/// Writes propagation fields into a request's header fields.
struct HTTPFieldsCarrier: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPFields) {
        guard let name = HTTPField.Name(key) else { return }
        carrier[name] = value
    }
}
