import Foundation
import PicusJournal

/// A journal in a ``TemporaryFolder`` of its own, removed when the last reference to it goes: a real
/// SQLite file, as an agent's tests should use, with nothing left behind.
///
/// ```swift
/// let scratch = try TemporaryJournal(clock: clock)
/// let client = sandbox.client(on: scratch.journal)
/// ```
public final class TemporaryJournal: Sendable {
    /// The folder that holds the journal, and anything else the test puts there.
    public let folder: TemporaryFolder
    /// The journal, at `journal.sqlite` in ``folder``.
    public let journal: Journal

    /// Creates the folder and a journal in it.
    ///
    /// - Parameters:
    ///   - clock: The clock the journal, and the clients and replayers on it, read; nil for the system's.
    ///   - configuration: The rest of the journal's configuration.
    public init(clock: ManualClock? = nil, configuration: Journal.Configuration = Journal.Configuration()) throws {
        folder = try TemporaryFolder()
        var configuration = configuration
        if let clock { configuration.clock = clock.journalClock }
        journal = try Journal(path: folder.path("journal.sqlite"), configuration: configuration)
    }
}
