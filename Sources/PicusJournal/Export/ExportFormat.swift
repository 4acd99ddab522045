/// The formats `export` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// HTTP Archive 1.2: one HAR entry per attempt; opens in browser dev tools and HTTP debuggers.
    case har
    /// One journal entry per line, with its attempts (the `show --format json` object, on one line).
    case ndjson
    /// One attempt per row, with a header row (RFC 4180).
    case csv
}

/// How an export is written.
public struct ExportOptions: Sendable {
    /// The base URL of entries journaled without one.
    public var defaultOrigin = "https://api.picussecurity.com"
    /// A short text summary to carry in the HAR's `log.comment` (the support-ticket bundle).
    public var summary: String?
    /// Statistics to carry in the HAR as `log._summary`.
    public var statistics: Statistics?
    /// The version written as the HAR creator's.
    public var creatorVersion = PicusJournalVersion.current

    /// The defaults.
    public init() {}
}

/// What an export wrote.
public struct ExportResult: Sendable {
    /// Journal entries written.
    public var entries: Int
    /// Attempts written.
    public var attempts: Int
    /// Bytes written.
    public var bytes: Int
}

/// This library's version, as exports and `doctor` report it.
public enum PicusJournalVersion {
    /// The current version.
    public static let current = "0.3.0"
}
