import Foundation

extension JournalQuery {
    /// This query with room for one entry past its limit: whether that entry comes back is what
    /// tells a page that another one follows. Pair it with ``page(of:)``.
    package var lookingOneAhead: JournalQuery {
        var query = self
        query.limit = limit.map { $0 < Int.max ? $0 + 1 : $0 }
        return query
    }

    /// The page that entries fetched with ``lookingOneAhead`` make: at most `limit` of them, and
    /// the cursor after the last one only when more matched — never a cursor to an empty page.
    package func page(of fetched: [Entry]) -> (entries: [Entry], nextCursor: Cursor?) {
        guard let limit, fetched.count > limit else { return (fetched, nil) }
        let entries = Array(fetched.prefix(max(0, limit)))
        return (entries, entries.last.map(Cursor.init(after:)))
    }
}

extension JournalReader {
    /// Reads the entries that match a query, newest first, a batch at a time, so that memory stays
    /// bounded however many match: each batch is one page read after the previous one's cursor.
    ///
    /// The query's limit counts every batch together. Entries added while the batches are read are
    /// newer than the first batch's, so they are not among them; none is read twice.
    ///
    /// ```swift
    /// let next = try await journal.forEachBatch(matching: query) { entries in write(entries) }
    /// ```
    ///
    /// - Parameters:
    ///   - query: Which entries, its limit (nil for all) and its cursor.
    ///   - batchSize: At most this many entries in one batch.
    ///   - body: Receives each batch, in order; never an empty one.
    /// - Returns: The cursor of the next page when more entries match than the query's limit; nil otherwise.
    package func forEachBatch(
        matching query: JournalQuery, batchSize: Int = 200, _ body: ([Entry]) throws -> Void
    ) async throws -> JournalQuery.Cursor? {
        var remaining = query.limit
        var batchQuery = query
        while true {
            let wanted = min(max(1, batchSize), remaining ?? .max)
            guard wanted > 0 else { return nil }
            batchQuery.limit = wanted
            // A page's cursor says whether another batch, or another page, follows.
            let (batch, next) = try await page(matching: batchQuery)
            if !batch.isEmpty { try body(batch) }
            remaining = remaining.map { $0 - batch.count }
            guard let next else { return nil }
            if remaining == 0 { return next }
            batchQuery.after = next
        }
    }
}
