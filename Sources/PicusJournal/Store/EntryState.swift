/// Where an entry stands in its life.
///
/// `pending` (written, not sent) → `inFlight` (leased by a sender) → `succeeded`, `failed`
/// (permanent), or `queued` (retryable, waiting for `nextAttemptAt`) → … → `expired` (retry budget
/// or age spent). An operator may `cancel` an entry that has not finished.
public enum EntryState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Written, not yet sent.
    case pending
    /// Leased by a sender that is sending it now.
    case inFlight
    /// Delivered: the server answered 2xx.
    case succeeded
    /// The server refused it for good (4xx, 500, a 401 after a refresh).
    case failed
    /// Refused for now (408, 429, 503, 504, network): waiting for replay at `nextAttemptAt`.
    case queued
    /// Its retry budget or age is spent.
    case expired
    /// Cancelled by an operator.
    case cancelled

    /// Whether nothing more will happen to the entry on its own.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .expired, .cancelled: true
        case .pending, .inFlight, .queued: false
        }
    }
}
