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

extension Attempt: FetchableRecord {
    public init(row: Row) throws {
        id = row["id"]
        entryID = row["entryId"]
        number = row["number"]
        startedAt = Date(unixMilliseconds: row["startedAt"])
        durationMs = row["durationMs"]
        status = row["status"]
        transportError = (row["transportError"] as String?).flatMap(TransportError.Kind.init(rawValue:))
        outcome = Outcome(rawValue: row["outcome"]) ?? .permanent
        responseHeaders = JSONColumn.decodeHeaders(row["responseHeaders"])
        if let kind = (row["bodyKind"] as String?).flatMap(BodyKind.init(rawValue:)) {
            let errorsText: String? = row["errors"]
            error = ErrorBody(
                message: row["errorMessage"], errorCode: row["errorCode"],
                errors: errorsText.flatMap { JSONValue(parsing: Data($0.utf8)) },
                kind: kind, raw: row["body"] ?? Data(), size: row["bodySize"])
        } else if let message = row["errorMessage"] as String? {
            error = ErrorBody(message: message, errorCode: row["errorCode"], kind: .empty)
        } else {
            error = nil
        }
        retryAfterMs = row["retryAfterMs"]
        rateLimitLimit = row["rateLimitLimit"]
        rateLimitRemaining = row["rateLimitRemaining"]
        rateLimitReset = row["rateLimitReset"]
    }
}
