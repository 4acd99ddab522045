import Foundation
import PicusJournal

/// The journals a command opened, closed before the process exits: a closed journal has its WAL
/// checkpointed and removed, whatever task still held a reference when the command returned.
final class OpenJournals: Sendable {
    static let shared = OpenJournals()
    private let journals = LockedValue<[Journal]>([])

    func add(_ journal: Journal) -> Journal {
        journals.withLock { $0.append(journal) }
        return journal
    }

    /// Closes every journal opened; a failure to close loses nothing (SQLite recovers the WAL on the next open).
    func closeAll() {
        let opened = journals.withLock { journals in
            defer { journals = [] }
            return journals
        }
        for journal in opened { try? journal.close() }
    }
}
