import Foundation
import GRDB

/// Group commit: the writes of concurrent tasks share one transaction, and so one fsync.
///
/// A writer that finds no transaction under way commits its own write at once, on its own thread (a
/// sync access to GRDB's serial writer queue runs there): no hop to the writer queue and back, which
/// costs two thread hand-offs. Otherwise writes go to the writer
/// queue. Writers that arrive meanwhile are queued with their continuations and
/// committed together, in one transaction on the writer queue, as soon as the current one is done;
/// what is queued during that goes into the next. A shared write runs in a savepoint of its own, so
/// one that throws is rolled back alone, and each caller is resumed only after the transaction
/// holding its write committed — durability is that of one transaction per write.
///
/// Neither path can be interrupted by the caller's cancellation: the outcome of a request that left
/// the process is recorded even while its task is being cancelled. At most one cooperative thread
/// is ever blocked on a commit — the one committing its own write, with its fsync at `full`; the
/// others wait suspended.
final class GroupCommit: @unchecked Sendable {
    /// One queued write: runs in the transaction, then hears whether its transaction committed.
    fileprivate struct Write: Sendable {
        /// Runs the write — inside a savepoint of its own when it shares the transaction — and keeps
        /// its result for `finish`.
        let run: @Sendable (Database, _ shared: Bool) -> Void
        /// What the write threw, if it did.
        let thrown: @Sendable () -> (any Error)?
        /// Resumes the caller: with the write's result once committed, or with the commit's failure.
        let finish: @Sendable ((any Error)?) -> Void
        var error: (any Error)? { thrown() }
    }

    private let writer: any DatabaseWriter
    /// The most writes one transaction takes; the rest wait for the next.
    private let batchLimit: Int
    // `lock` guards `queued` and `isCommitting`.
    private let lock = NSLock()
    private var queued: [Write] = []
    private var isCommitting = false

    init(writer: any DatabaseWriter, batchLimit: Int = 256) {
        self.writer = writer
        self.batchLimit = batchLimit
    }

    /// Runs `body` in a transaction shared with the writes queued beside it, and returns once that
    /// transaction committed.
    ///
    /// - Parameter inline: Whether a lone writer may commit on its own thread. A write made beside
    ///   the caller's other work — a lease renewal, a drain's claim — goes to the writer queue instead.
    ///
    /// At `full` the inline commit holds its cooperative thread through the fsync: a worker's next
    /// claim rides on its outcome's commit, so nothing else waits on that thread meanwhile.
    func write<T: Sendable>(inline: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        // Nobody is writing: this caller commits its own write on its own thread — GRDB's serial
        // writer queue runs a sync block on the calling thread — with no hop and no wait. Writers that
        // arrive meanwhile queue up, and are committed together once this one is done.
        let leads = inline && lock.withLock {
            guard !isCommitting else { return false }
            isCommitting = true
            return true
        }
        if leads {
            defer { handOff() }
            return try commitAlone(body)
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Outcome<T>()
            let write = Write(
                run: { db, shared in
                    do {
                        if shared {
                            var value: T?
                            try db.inSavepoint {
                                value = try body(db)
                                return .commit
                            }
                            outcome.result = value.map { .success($0) }
                        } else {
                            outcome.result = .success(try body(db))
                        }
                    } catch {
                        outcome.result = .failure(error)
                    }
                },
                thrown: { if case .failure(let error) = outcome.result { error } else { nil } },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome.result ?? .failure(JournalError(.database, "a journal write produced no result")))
                    }
                })
            let starts = lock.withLock {
                queued.append(write)
                guard !isCommitting else { return false }
                isCommitting = true
                return true
            }
            if starts { commitNext() }
        }
    }

    /// Commits one write in its own transaction, synchronously, on the calling thread.
    private func commitAlone<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in
            var value: T?
            try db.inImmediateTransaction {
                value = try body(db)
                return .commit
            }
            guard let value else { throw JournalError(.database, "a journal write produced no result") }
            return value
        }
    }

    /// After a caller committed its own write: the writes queued meanwhile are committed together,
    /// on the writer queue.
    private func handOff() {
        let hasQueued = lock.withLock {
            if queued.isEmpty { isCommitting = false }
            return !queued.isEmpty
        }
        if hasQueued { commitNext() }
    }

    /// Commits the queued writes in one transaction, then the next batch, until none is queued.
    private func commitNext() {
        let batch: [Write] = lock.withLock {
            let batch = Array(queued.prefix(batchLimit))
            queued.removeFirst(batch.count)
            if batch.isEmpty { isCommitting = false }
            return batch
        }
        guard !batch.isEmpty else { return }
        let pending = Pending(batch)
        // Weak, and nothing of the journal touched once callers are resumed: a caller may then release
        // the journal, and with it the pool, whose last reference must not die on the pool's own writer
        // queue, or the pool never closes (and never checkpoints its WAL).
        writer.asyncWriteWithoutTransaction { [weak self] db in
            var writes = pending.take()
            var failure: (any Error)?
            do {
                try db.inImmediateTransaction {
                    if writes.count == 1 {
                        // Alone: a failure rolls the whole transaction back, which is its own.
                        writes[0].run(db, false)
                        return writes[0].error == nil ? .commit : .rollback
                    }
                    for write in writes {
                        write.run(db, true)
                        // Some failures (a full disk, say) make SQLite roll the whole transaction back:
                        // the writes before are lost with it and the rest must not run on their own,
                        // outside any transaction. Every caller hears the failure and none is committed.
                        if !db.isInsideTransaction { throw write.error ?? JournalError(.database, "the journal's transaction was rolled back") }
                    }
                    return .commit
                }
            } catch {
                failure = error
            }
            let finishes = writes.map(\.finish)
            // The writes' bodies may hold the journal: they go before any caller resumes.
            writes.removeAll()
            self?.commitNext()
            for finish in finishes { finish(failure) }
        }
    }
}

/// A batch handed to the writer queue, taken from there exactly once.
private final class Pending: @unchecked Sendable {
    // Set on the caller's thread, taken on the writer queue after GRDB's dispatch orders the two.
    private var writes: [GroupCommit.Write]

    init(_ writes: [GroupCommit.Write]) {
        self.writes = writes
    }

    func take() -> [GroupCommit.Write] {
        defer { writes = [] }
        return writes
    }
}

/// The result of one write, kept until its transaction commits. Written and read on the writer queue only.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

extension Database {
    /// GRDB's `inTransaction(.immediate)` with its `BEGIN` and `COMMIT` prepared once per connection:
    /// GRDB parses and prepares both anew for every transaction, a cost the journal's commits would
    /// pay twice per request. A transaction that throws, or asks for it, is rolled back, and the
    /// first error is thrown.
    func inImmediateTransaction(_ operations: () throws -> TransactionCompletion) throws {
        try cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        var firstError: (any Error)?
        do {
            if try operations() == .commit {
                try cachedStatement(sql: "COMMIT TRANSACTION").execute()
                return
            }
        } catch {
            firstError = error
        }
        // SQLite may have rolled the transaction back already (a full disk, say).
        if isInsideTransaction {
            do {
                try rollback()
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }
}
