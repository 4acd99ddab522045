import Foundation

extension ReplayEngine {
    /// Every entry this engine replays from now on, as its attempt is recorded: by any ``drain(_:onReplay:)``
    /// and by ``run()`` as a `Service`. The sequence ends when the listening task is cancelled.
    ///
    /// Each call is a listener of its own, and every listener sees every entry. It buffers the latest
    /// 1,024 items, so a listener that stops reading loses the oldest, never the engine's progress.
    ///
    /// ```swift
    /// for await item in engine.outcomes() where item.entry.state.isFinal {
    ///     print(item.entry.id, item.entry.state)
    /// }
    /// ```
    public nonisolated func outcomes() -> AsyncStream<Summary.Item> {
        let key = UUID()
        let (stream, continuation) = AsyncStream<Summary.Item>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        continuation.onTermination = { [listeners] _ in _ = listeners.withLock { $0.removeValue(forKey: key) } }
        listeners.withLock { $0[key] = continuation }
        return stream
    }

    /// Waits until an entry is final — succeeded, failed, expired or cancelled — and returns it: at
    /// once when it already is, otherwise when this engine's replay of it ends it.
    ///
    /// An entry that another process replays, or an operator cancels, is seen only when this engine
    /// next replays something or the journal is read again: use it beside a running engine.
    ///
    /// - Parameter id: The entry's id, as ``Delivery/entry`` gives it.
    /// - Returns: The entry in its final state.
    /// - Throws: ``JournalError`` when there is no such entry or the journal cannot be read;
    ///   `CancellationError` when the waiting task is cancelled first.
    public nonisolated func finalOutcome(ofEntry id: Int64) async throws -> Entry {
        // Listen before looking, so that an outcome recorded in between is not missed.
        let outcomes = outcomes()
        guard let entry = try await client.journal.entry(id: id) else {
            throw JournalError(.notFound, "there is no entry \(id) in \(client.journal.path)", path: client.journal.path)
        }
        if entry.state.isFinal { return entry }
        for await item in outcomes where item.entry.id == id && item.entry.state.isFinal {
            return item.entry
        }
        try Task.checkCancellation()
        // The stream ended without it: only cancellation ends it, so look once more.
        guard let entry = try await client.journal.entry(id: id) else {
            throw JournalError(.notFound, "there is no entry \(id) in \(client.journal.path)", path: client.journal.path)
        }
        return entry
    }
}
