import Foundation
import GRDB

/// An error of the journal: opening, migrating, reading or writing it.
///
/// Its `description` is one line that says what went wrong and what to do. It never holds a
/// secret or a bound SQL value. The SQLite error, when there is one, rides as `underlyingError`.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case notSQLite, foreignDatabase, schemaTooNew, schemaMismatch, cannotOpen, corrupt, diskFull, readOnly, busy
            case notFound, invalidTransition, database, exportOntoJournal
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file exists but is not a SQLite database.
        public static let notSQLite = Code(.notSQLite)
        /// The file is a SQLite database, but not a picus-journal journal.
        public static let foreignDatabase = Code(.foreignDatabase)
        /// The journal was migrated by a newer picus-journal than this one.
        public static let schemaTooNew = Code(.schemaTooNew)
        /// The journal's tables do not have the columns its recorded schema version has: it was altered.
        public static let schemaMismatch = Code(.schemaMismatch)
        /// The file or its folder cannot be created or opened.
        public static let cannotOpen = Code(.cannotOpen)
        /// SQLite reports the database as damaged.
        public static let corrupt = Code(.corrupt)
        /// The disk is full: nothing was written.
        public static let diskFull = Code(.diskFull)
        /// The journal is read-only for this process.
        public static let readOnly = Code(.readOnly)
        /// Another process held the journal locked for longer than the busy timeout.
        public static let busy = Code(.busy)
        /// No entry has the requested id, or no journal is at the path.
        public static let notFound = Code(.notFound)
        /// The entry is not in a state that allows the requested change.
        public static let invalidTransition = Code(.invalidTransition)
        /// Any other database failure.
        public static let database = Code(.database)
        /// An export's output names the journal, one of its companion files or its owners folder:
        /// nothing was written.
        public static let exportOntoJournal = Code(.exportOntoJournal)

        /// The code's name: `busy`, `diskFull`, ….
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The journal file concerned, when known.
    public let path: String?
    /// The entry concerned, when known.
    public let entryID: Int64?
    /// What went wrong and what to do, in one line.
    public let message: String
    /// The error that caused this one, typically a GRDB `DatabaseError`.
    public let underlyingError: (any Error & Sendable)?

    package init(
        _ code: Code, _ message: String, path: String? = nil, entryID: Int64? = nil,
        underlyingError: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.entryID = entryID
        self.underlyingError = underlyingError
    }

    /// One line: what went wrong and what to do.
    public var description: String { message }

    /// Translates a failure of a database access into a `JournalError` that says what to do.
    package static func wrapping(_ error: any Error, path: String, doing action: String) -> any Error {
        if let error = error as? JournalError { return error }
        // A cancelled read is the caller's choice, not a journal failure.
        if error is CancellationError { return error }
        // Not the database's: the caller's own error (an export's output that failed, say) says it best.
        guard let dbError = error as? DatabaseError else { return error }
        let sqliteMessage = dbError.message ?? "\(dbError.resultCode)"
        var code = dbError.resultCode.primaryResultCode
        // SQLite reports a full disk as an I/O error when the write that failed was the WAL index's or
        // a file's creation (`-shm`): ask the file system.
        if code == .SQLITE_IOERR || code == .SQLITE_CANTOPEN, FileSystemSpace.isFull(at: path) { code = .SQLITE_FULL }
        switch code {
        case .SQLITE_FULL:
            return JournalError(.diskFull, "cannot \(action) journal \(path): the disk is full; free space and retry (nothing already journaled is lost)", path: path, underlyingError: dbError)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return JournalError(.corrupt, "journal \(path) is damaged (\(sqliteMessage)); run `picus-journal doctor` or restore it from a backup", path: path, underlyingError: dbError)
        case .SQLITE_READONLY, .SQLITE_PERM:
            return JournalError(.readOnly, "cannot \(action) journal \(path): it is read-only for this user; check its owner and permissions", path: path, underlyingError: dbError)
        case .SQLITE_CANTOPEN, .SQLITE_IOERR:
            return JournalError(.cannotOpen, "cannot \(action) journal \(path): \(sqliteMessage); check that the path and its folder exist and are writable", path: path, underlyingError: dbError)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return JournalError(.busy, "cannot \(action) journal \(path): another process kept it locked; retry", path: path, underlyingError: dbError)
        default:
            return JournalError(.database, "cannot \(action) journal \(path): \(sqliteMessage)", path: path, underlyingError: dbError)
        }
    }
}
