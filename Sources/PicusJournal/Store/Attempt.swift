import Foundation
import GRDB

/// One try of an entry: when it was sent, how long it took and what came back.
public struct Attempt: Sendable, Hashable, Identifiable {
    /// What the client made of an attempt's result.
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        /// 2xx.
        case success
        /// Refused for good.
        case permanent
        /// Refused for now: the entry was queued.
        case retryable
        /// A 401 answered by refreshing the token and trying again at once.
        case refresh
    }

    /// The row id.
    public var id: Int64
    /// The entry this attempt belongs to.
    public var entryID: Int64
    /// 1 for the first attempt, then 2, 3, …
    public var number: Int
    /// When the request was sent.
    public var startedAt: Date
    /// How long until the response (or the failure), in milliseconds.
    public var durationMs: Double
    /// The HTTP status, nil when no response arrived.
    public var status: Int?
    /// Why no response arrived, if none did.
    public var transportError: TransportError.Kind?
    /// What the client made of it.
    public var outcome: Outcome
    /// The response headers: redacted.
    public var responseHeaders: [String: String]
    /// The decoded error body of a non-2xx response (or the transport failure's message).
    public var error: ErrorBody?
    /// How long the server asked to wait (`Retry-After`), in milliseconds.
    public var retryAfterMs: Int64?
    /// `X-Ratelimit-Limit`.
    public var rateLimitLimit: Int?
    /// `X-Ratelimit-Remaining`.
    public var rateLimitRemaining: Int?
    /// `X-Ratelimit-Reset`, in epoch seconds.
    public var rateLimitReset: Int64?
}

extension Attempt {
    /// An attempt read from somewhere other than a journal's own rows (the fleet store): the
    /// columns every attempt has; the caller sets the rest.
    package init(id: Int64, entryID: Int64, number: Int, startedAt: Date, durationMs: Double, outcome: Outcome) {
        self.id = id
        self.entryID = entryID
        self.number = number
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.outcome = outcome
        responseHeaders = [:]
    }
}

extension ErrorBody {
    /// The error body an attempt's stored columns describe: the decoded envelope and its raw body when
    /// a body kind was stored, the message alone (a transport failure's) when not, else nil. The
    /// journal's rows and the fleet store's both read it so.
    package static func stored(message: String?, errorCode: String?, errors: String?, kind: String?, raw: Data?,
                               size: Int?) -> ErrorBody? {
        if let kind = kind.flatMap(BodyKind.init(rawValue:)) {
            return ErrorBody(message: message, errorCode: errorCode, errors: errors.flatMap { JSONValue(parsing: Data($0.utf8)) },
                             kind: kind, raw: raw ?? Data(), size: size)
        }
        return message.map { ErrorBody(message: $0, errorCode: errorCode, kind: .empty) }
    }
}

extension Attempt {
    /// Reads an attempt from a row of the `attempt` table. Not a GRDB `FetchableRecord`, as ``Entry`` is not.
    package init(row: Row) throws {
        id = try row.decode(forColumn: "id")
        entryID = try row.decode(forColumn: "entryId")
        number = try row.decode(forColumn: "number")
        startedAt = Date(unixMilliseconds: try row.decode(forColumn: "startedAt"))
        durationMs = try row.decode(forColumn: "durationMs")
        status = try row.decode(forColumn: "status")
        transportError = (try row.decode(forColumn: "transportError") as String?).flatMap(TransportError.Kind.init(rawValue:))
        outcome = Outcome(rawValue: try row.decode(forColumn: "outcome")) ?? .permanent
        responseHeaders = JSONColumn.decodeHeaders(try row.decode(forColumn: "responseHeaders"))
        error = ErrorBody.stored(
            message: try row.decode(forColumn: "errorMessage"), errorCode: try row.decode(forColumn: "errorCode"),
            errors: try row.decode(forColumn: "errors"), kind: try row.decode(forColumn: "bodyKind"),
            raw: try row.decode(forColumn: "body"), size: try row.decode(forColumn: "bodySize"))
        retryAfterMs = try row.decode(forColumn: "retryAfterMs")
        rateLimitLimit = try row.decode(forColumn: "rateLimitLimit")
        rateLimitRemaining = try row.decode(forColumn: "rateLimitRemaining")
        rateLimitReset = try row.decode(forColumn: "rateLimitReset")
    }
}

extension Attempt {
    /// The attempts a query returns.
    package static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Attempt] {
        try Array(Row.fetchCursor(db, sql: sql, arguments: arguments).map { try Attempt(row: $0) })
    }
}
