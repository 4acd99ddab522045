import Foundation
import GRDB

/// Taking back entries whose sender is gone.
///
/// Owners are tested for life (a `flock`, `kill`, `/proc`) before any database transaction, so a
/// slow file system never holds the journal's writer; the recovery itself is one INSERT of the
/// `abandoned` attempts and one UPDATE of the entries. Both are guarded by the lease each verdict was
/// made for, so a lease renewed or handed on between the test and the commit is left alone.
extension Journal {
    /// Takes back entries whose sender is gone: at once when it is provably dead on this host or
    /// left word that it let go, at the lease's expiry when it cannot be tested; never while it lives.
    ///
    /// Each gets an `abandoned` attempt in its history — the server may have received it — and is
    /// queued for replay with its own Idempotency-Key, or failed for an operator to decide when
    /// `replay` is false or the entry is never replayed.
    package func recoverAbandoned(now: Date, replay: Bool) async throws -> [Int64] {
        let claimed = try await inFlightLeases()
        guard !claimed.isEmpty else { return [] }
        let verdicts = Self.testOwners(of: claimed, journalPath: path)
        let recoveries = claimed.compactMap { lease in
            Recovery(lease, verdict: verdicts[lease.owner ?? ""] ?? OwnerLock.Verdict(liveness: .dead), replay: replay)
        }
        guard !recoveries.isEmpty else { return [] }
        let arguments: StatementArguments = [
            "recoveries": String(decoding: try JSONEncoder().encode(recoveries), as: UTF8.self), "now": now.unixMilliseconds,
            "inFlight": EntryLifecycle.edge(.claim).to.rawValue, "queued": EntryLifecycle.edge(.recoverForReplay).to.rawValue,
        ]
        let recovered = try await write("recover abandoned entries in") { db in
            try db.execute(sql: Self.recoveryAttempts, arguments: arguments)
            return try Int64.fetchAll(db, sql: Self.recoveryUpdate, arguments: arguments)
        }
        for (owner, verdict) in verdicts where verdict.liveness == .dead && !owner.isEmpty {
            OwnerLock.removeIfDead(owner, journalPath: path)
        }
        return recovered.sorted()
    }

    /// When each in-flight lease can be taken back — now for a sender that is provably dead or let go,
    /// at its expiry for one that cannot be tested — with live senders' leases left out.
    package func recoverableLeaseTimes(now: Date) async throws -> [Date] {
        let claimed = try await inFlightLeases()
        let verdicts = Self.testOwners(of: claimed, journalPath: path)
        return claimed.compactMap { lease in
            (verdicts[lease.owner ?? ""] ?? OwnerLock.Verdict(liveness: .dead)).recoverableAt(expiry: lease.expiresAt, now: now)
        }
    }

    /// An in-flight entry's lease, as read before its owner is tested.
    struct InFlightLease {
        var id: Int64
        var owner: String?
        var expiresAt: Date
        var isReplayable: Bool
    }

    private func inFlightLeases() async throws -> [InFlightLease] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, leaseOwner, leaseExpiresAt, isReplayable FROM entry WHERE state = ?",
                             arguments: [EntryLifecycle.edge(.claim).to.rawValue]).map { row in
                InFlightLease(id: row["id"], owner: row["leaseOwner"],
                              expiresAt: (row["leaseExpiresAt"] as Int64?).map(Date.init(unixMilliseconds:)) ?? .distantPast,
                              isReplayable: row["isReplayable"])
            }
        }
    }

    /// Each distinct owner tested once; an entry in flight with no owner is keyed by "" and dead.
    private static func testOwners(of leases: [InFlightLease], journalPath: String) -> [String: OwnerLock.Verdict] {
        var verdicts: [String: OwnerLock.Verdict] = [:]
        for owner in Set(leases.compactMap(\.owner)) where verdicts[owner] == nil {
            verdicts[owner] = OwnerLock.test(owner, journalPath: journalPath)
        }
        return verdicts
    }

    /// What recovering one entry writes, decided from its owner's verdict before the transaction.
    private struct Recovery: Encodable {
        var id: Int64
        var lease: String?
        /// Taken back only once its lease has run out: its owner could not be tested.
        var onExpiry: Bool
        var state: String
        var outcome: String
        var status: Int?
        var transportError: String?
        var message: String

        init?(_ lease: InFlightLease, verdict: OwnerLock.Verdict, replay: Bool) {
            // Never while the owner lives; the lease's own expiry stands in only for an untestable owner.
            guard let at = verdict.recoverableAt(expiry: .distantFuture, now: .distantPast) else { return nil }
            onExpiry = at == .distantFuture
            (id, self.lease) = (lease.id, lease.owner)
            let replay = replay && lease.isReplayable
            status = verdict.note?.status
            transportError = status == nil ? TransportError.Kind.abandoned.rawValue : nil
            if let note = verdict.note, let status, (200..<300).contains(status) {
                // The server answered 2xx: record what its sender could not, and send nothing again.
                state = EntryLifecycle.edge(.recoverDelivered).to.rawValue
                outcome = Attempt.Outcome.success.rawValue
                message = "its sender got HTTP \(status) but could not record it then (\(note.reason)); recorded from the note it left"
            } else {
                let what = verdict.note.map { note in
                    "its sender got \(note.status.map { "HTTP \($0)" } ?? "no answer") but could not record it (\(note.reason))"
                } ?? "the process sending it stopped before recording the outcome; the server may have received it"
                state = EntryLifecycle.edge(replay ? .recoverForReplay : .recoverParked).to.rawValue
                outcome = (replay ? Attempt.Outcome.retryable : .permanent).rawValue
                message = "\(what); " + (replay ? "replaying with the same Idempotency-Key" : "parked for an operator (requeue to send it again)")
            }
        }
    }

    /// The recoveries' rows, guarded by the lease each verdict was made for.
    private static let recoveryRows = """
        SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.lease') AS lease,
               json_extract(value, '$.onExpiry') AS onExpiry, json_extract(value, '$.state') AS state,
               json_extract(value, '$.outcome') AS outcome, json_extract(value, '$.status') AS status,
               json_extract(value, '$.transportError') AS transportError, json_extract(value, '$.message') AS message
        FROM json_each(:recoveries)
        """

    private static let recoveryGuard = """
        entry.id = r.id AND entry.state = :inFlight AND entry.leaseOwner IS r.lease
            AND (NOT r.onExpiry OR COALESCE(entry.leaseExpiresAt, 0) <= :now)
        """

    /// Each recovered entry's `abandoned` attempt, numbered after its last one, started when it was claimed.
    private static let recoveryAttempts = """
        INSERT INTO attempt (entryId, number, startedAt, durationMs, status, transportError, outcome, errorMessage)
        SELECT entry.id, MAX(entry.attemptCount, (SELECT COALESCE(MAX(number), 0) FROM attempt WHERE entryId = entry.id)) + 1,
               entry.updatedAt, :now - entry.updatedAt, r.status, r.transportError, r.outcome, r.message
        FROM entry JOIN (\(recoveryRows)) AS r WHERE \(recoveryGuard)
        """

    /// The one UPDATE that moves every recovered entry, numbered to match the attempt just written.
    private static let recoveryUpdate = """
        UPDATE entry SET state = r.state,
            attemptCount = (SELECT MAX(number) FROM attempt WHERE entryId = entry.id),
            nextAttemptAt = IIF(r.state = :queued, :now, NULL), leaseOwner = NULL, leaseExpiresAt = NULL,
            lastStatus = r.status, lastTransportError = r.transportError,
            lastErrorMessage = IIF(r.outcome = 'success', NULL, r.message), lastErrorCode = NULL, updatedAt = :now
        FROM (\(recoveryRows)) AS r
        WHERE \(recoveryGuard)
        RETURNING entry.id
        """
}
