import Foundation

/// What the read side — `list`, `show`, `stats` and `export` — asks of a store of entries: a
/// ``Journal`` on this host, or a fleet store that many agents' journals were shipped into.
///
/// Both answer the same ``JournalQuery`` with the same types, so a tool written against this
/// protocol reads one host's history or the whole fleet's alike. Entries read from a fleet store
/// carry ``Entry/agent``.
public protocol JournalReader: Sendable {
    /// Where the entries are, for messages: a file path, or a redacted `postgres://` URL.
    var location: String { get }

    /// A page of the entries that match a query, newest first, and the cursor of the next page.
    func page(matching query: JournalQuery) async throws -> (entries: [Entry], nextCursor: JournalQuery.Cursor?)

    /// The entry with this id, or nil.
    func entry(id: Int64) async throws -> Entry?

    /// The attempts of an entry, first to last.
    func attempts(ofEntry id: Int64) async throws -> [Attempt]

    /// Counts the entries that match a query (its limit and cursor ignored), grouped if asked.
    func statistics(matching query: JournalQuery, by grouping: Statistics.Grouping?, topErrorCount: Int) async throws -> Statistics

    /// Writes the entries that match a query in a format, chunk by chunk, in constant memory.
    func export(matching query: JournalQuery, as format: ExportFormat, options: ExportOptions,
                to write: @escaping @Sendable (Data) throws -> Void) async throws -> ExportResult
}

extension Journal: JournalReader {
    /// The journal's file.
    public var location: String { path }
}
