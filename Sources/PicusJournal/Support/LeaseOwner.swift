import Foundation

/// The owner of the lease an entry carries in `leaseOwner` while a sender holds it. A lease reads
/// `host:pid:instance/token`, and for a claim of several entries at once `host:pid:instance/token.id`,
/// one per entry.
///
/// The one writer and the one parser of that text. The owner part names the process and its
/// liveness lock (``OwnerLock``); the token names one send or one claim, so that a note the sender
/// leaves about one lease is never read as another's.
package struct LeaseOwner: Sendable, Hashable {
    /// The host the owner runs on.
    package let host: String
    /// The owner's process id.
    package let pid: Int32
    /// The owner's instance within the process: one per journal it holds a liveness lock on.
    package let instance: String

    /// An owner.
    package init(host: String, pid: Int32, instance: String) {
        self.host = host
        self.pid = pid
        self.instance = instance
    }

    /// The owner of a lease's text; nil when it is not `host:pid:instance`, optionally followed by
    /// `/…` (a lease written by something else, which no liveness test can judge).
    package init?(owning text: String) {
        let owner = text.split(separator: "/", maxSplits: 1).first.map(String.init) ?? text
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let pid = Int32(parts[1]), !parts[0].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(host: String(parts[0]), pid: pid, instance: String(parts[2]))
    }

    /// `host:pid:instance`: the owner part of every lease this owner takes.
    package var text: String { "\(host):\(pid):\(instance)" }

    /// `pid-instance.lock`: the name of the owner's liveness lock in the journal's owners folder.
    package var lockFileName: String { "\(pid)-\(instance).lock" }

    /// A new lease of this owner, for one send or one claim.
    package func newLease() -> String {
        "\(text)/\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The SQL expression that gives each entry of a claim of several its own lease, from the claim's
    /// lease bound as `:owner` and the row's `id`.
    package static let perEntrySQL = ":owner || '.' || id"
}
