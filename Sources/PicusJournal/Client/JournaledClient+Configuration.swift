import Foundation
import Logging
import Tracing

extension JournaledClient {
    /// How the client behaves: its retry policy, its limits, its leases, what it keeps secret and
    /// where it reports. The time comes from its journal's ``Journal/Configuration/clock``.
    ///
    /// ```swift
    /// var configuration = JournaledClient.Configuration()
    /// configuration.limits.timeout = .seconds(10)
    /// configuration.observability.logger = Logger(label: "my-agent.picus")
    /// ```
    public struct Configuration: Sendable {
        /// How long and how large one attempt may be.
        public struct Limits: Sendable {
            /// How long one attempt may take, from connecting to the last byte of the body.
            public var timeout: Duration = .seconds(30)
            /// Request bodies larger than this are refused: the journal keeps bodies whole for replay.
            public var maximumRequestBodySize = 8 * 1024 * 1024
            /// The largest 2xx response body read; a larger one stops at this size with
            /// ``TransportResponse/BodyIssue/tooLarge(limit:)`` (the entry still succeeded).
            public var maximumResponseBodySize = 32 * 1024 * 1024
            /// How many bytes of an error response body each attempt keeps; the rest is not read.
            public var maximumErrorBodySize = ErrorBody.defaultCap

            /// The default limits.
            public init() {}
        }

        /// How a sender holds the entries it sends.
        public struct Leases: Sendable {
            /// How long a sender's lease lasts between renewals. A live sender renews it every third of
            /// this, so it never lapses under a slow attempt; a sender that cannot be tested for life (on
            /// another host) is taken back this long after its last renewal.
            public var duration: Duration = .seconds(30)

            /// The default leases.
            public init() {}
        }

        /// Where the client logs, counts and traces.
        public struct Observability: Sendable {
            /// Where the client logs, at info level at most, with `picus.entry.id`, `picus.entry.uuid`
            /// (the Idempotency-Key), `picus.endpoint` and `http.response.status_code` metadata. It never
            /// logs a token or a body. Default: a disabled logger — pass your own.
            public var logger = Logger.disabled
            /// Where attempts, token exchanges, journal commits and replays are counted and timed (see
            /// ``JournalMetrics`` for the names). Default: ``JournalMetrics/system``, whatever
            /// `MetricsSystem` is bootstrapped with.
            public var metrics = JournalMetrics.system
            /// The tracer that gets a client span per attempt and per token exchange, with
            /// OpenTelemetry's HTTP attributes; every attempt carries its `traceparent`. Default: the
            /// tracer bootstrapped when this configuration was made (`InstrumentationSystem.tracer`, as
            /// AsyncHTTPClient does); nil makes no span, and an attempt then carries the caller's
            /// stored context unchanged.
            public var tracer: (any Tracer)? = InstrumentationSystem.tracer

            /// The default observability: the bootstrapped metrics and tracer, no logs.
            public init() {}
        }

        /// Which outcomes are replayed, and when.
        public var retryPolicy = RetryPolicy()
        /// How long and how large one attempt may be.
        public var limits = Limits()
        /// How a sender holds the entries it sends.
        public var leases = Leases()
        /// Header names, JSON keys and query parameters to redact beyond the built-in ones
        /// (`X-Customer-Pin`, say). What they name never reaches the disk: request headers, query and
        /// body, response headers and error bodies. A request whose own header, body field or query
        /// parameter is redacted cannot be sent again as it was, so it is never replayed.
        public var redaction = RedactionRules()
        /// Whether a request body's secret-named fields (`password`, `api_key`, …) are kept on disk for
        /// replay. True by default: the journal needs the body whole to replay it (the file is 0600).
        /// False stores them redacted, and such an entry is never replayed: it is sent once, and a
        /// retryable outcome fails it with a note that its secrets were not kept.
        public var keepsSecretBodyFields = true
        /// Where the client logs, counts and traces.
        public var observability = Observability()

        /// The default configuration.
        public init() {}

        /// The limits each attempt runs under; an error body is read ``ErrorBody/scrubbingMargin`` past its cap.
        var transportOptions: TransportOptions {
            TransportOptions(timeout: limits.timeout, maximumBodySize: limits.maximumResponseBodySize,
                             maximumErrorBodySize: limits.maximumErrorBodySize + ErrorBody.scrubbingMargin)
        }
    }
}
