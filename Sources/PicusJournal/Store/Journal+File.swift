import Foundation
import GRDB
import Logging
import PicusJournalMigrations

/// The journal file itself: made whole in one step, inspected before it is opened, and read where
/// the folder cannot be written or the disk is full.
extension Journal {
    /// Creates a missing folder (0700) and file (0600); refuses a folder or a file that is not SQLite.
    static func prepareFile(at path: String) throws {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue {
                throw JournalError(.cannotOpen, "\(path) is a folder, not a journal file; pass a file path with --db", path: path)
            }
            // The header is read by SQLite, never through a descriptor of our own: closing one would
            // drop the POSIX locks this process's connections hold on the file.
            return
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !fileManager.fileExists(atPath: folder) {
            do {
                try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
            } catch {
                throw JournalError(.cannotOpen, "cannot create the journal's folder \(folder): \(error.localizedDescription)", path: path)
            }
        }
        try create(at: path)
    }

    /// Makes a new journal whole in a temporary file, then links it into place in one step: a
    /// process that opens the path at the same moment sees no file or a migrated journal, never half
    /// of one. When several race, one link wins and the others open the winner's file.
    static func create(at path: String) throws {
        let temporary = "\(path).creating-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        defer {
            for suffix in ["", "-wal", "-shm", "-journal"] { _ = ExclusiveFile.remove(temporary + suffix) }
        }
        if case .failed(let code) = ExclusiveFile.create(atPath: temporary, mode: 0o600) {
            throw JournalError(.cannotOpen, "cannot create journal \(path): \(ExclusiveFile.describe(errno: code)); check that its folder is writable", path: path)
        }
        do {
            let queue = try DatabaseQueue(path: temporary)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try migrator.migrate(queue)
            // The file must be whole alone before it is linked into place: the WAL is checkpointed
            // into it here, where a full disk fails loudly (closing would checkpoint too, but a
            // checkpoint that fails there leaves the migration in a WAL that is then thrown away).
            try queue.writeWithoutTransaction { db in
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                if let row, row[0] as Int != 0 || row[1] as Int != row[2] as Int {
                    throw JournalError(.busy, "cannot create journal \(path): its first checkpoint did not complete; try again", path: path)
                }
            }
            try queue.close()
        } catch {
            throw JournalError.wrapping(error, path: path, doing: "create")
        }
        if let size = try? FileManager.default.attributesOfItem(atPath: temporary + "-wal")[.size] as? Int, size > 0 {
            throw JournalError(.diskFull, "cannot create journal \(path): the disk is full; free some space and try again", path: path)
        }
        switch ExclusiveFile.link(temporary, to: path) {
        case nil, EEXIST?: return
        case EPERM?, ENOTSUP?, EOPNOTSUPP?, ENOSYS?:
            // A filesystem without hard links (vfat, some network mounts): rename, unless another
            // process made the journal meanwhile. (The race the link closes stays open here.)
            if FileManager.default.fileExists(atPath: path) { return }
            if let code = ExclusiveFile.replace(path, with: temporary) {
                throw JournalError(.cannotOpen, "cannot create journal \(path): \(ExclusiveFile.describe(errno: code))", path: path)
            }
        case let code?:
            throw JournalError(.cannotOpen, "cannot create journal \(path): \(ExclusiveFile.describe(errno: code)); check that its folder is writable", path: path)
        }
    }

    /// Reads, without writing, whether the database is a journal this binary can use.
    ///
    /// The connection is read-only: closing a read-write one could checkpoint a WAL into the file.
    /// - Returns: Whether it is a journal already (false: an empty database, to be made one).
    @discardableResult
    static func inspect(path: String) throws -> Bool {
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(10)
        configuration.readonly = true
        do {
            let queue = try openForReading(path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let tableCount = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") ?? 0
                if applicationID != Self.applicationID {
                    if applicationID != 0 || tableCount > 0 {
                        throw JournalError(.foreignDatabase, "\(path) is a SQLite database but not a picus-journal journal; pass another path with --db (the file was left untouched)", path: path)
                    }
                    return false
                }
                if try migrator.hasBeenSuperseded(db) {
                    let applied = try migrator.appliedIdentifiers(db).sorted().last ?? "?"
                    throw JournalError(.schemaTooNew, "journal \(path) has schema \(applied), newer than this picus-journal knows (\(knownSchemaVersions.last ?? "?")); upgrade picus-journal", path: path)
                }
                return true
            }
        } catch let error as DatabaseError where error.resultCode.primaryResultCode == .SQLITE_NOTADB {
            throw JournalError(.notSQLite, "\(path) is not a SQLite database, so not a journal; pass another path with --db (the file was left untouched)", path: path, underlyingError: error)
        } catch {
            throw JournalError.wrapping(error, path: path, doing: "open")
        }
    }

    /// Where a read-only connection opens the journal.
    ///
    /// Normally the journal itself: the connection shares the WAL index of any writer (SQLite may
    /// create the `-wal` and `-shm` files, never touching the journal file). Only when there is no
    /// `-wal` file (no connection has the journal open, every commit is in the main file) and the
    /// folder cannot be written (so SQLite could not create them) is it opened `immutable`: a reader
    /// with read permission only can still read. A writer that starts and checkpoints during such a
    /// read could change pages under it; that is the price of reading where one may not write.
    static func readOnlyLocation(of path: String, immutable: Bool = false) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        guard immutable || (!FileManager.default.fileExists(atPath: path + "-wal")
            && !FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder))
        else { return path }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return "file:\(absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute)?immutable=1"
    }

    /// A read-only connection to the journal, its WAL index made or joined by a first read.
    ///
    /// On a full disk SQLite cannot make the `-shm` file a WAL reader needs. When no WAL holds commits
    /// the main file (no `-wal`, or an empty one: no writer has it open) is all there is to read, and the
    /// journal is opened `immutable` instead, which needs no `-shm`: readers keep working on a full disk.
    static func openForReading(_ path: String, configuration: GRDB.Configuration) throws -> DatabaseQueue {
        let location = readOnlyLocation(of: path)
        do {
            let queue = try DatabaseQueue(path: location, configuration: configuration)
            do {
                try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") }
            } catch {
                try? queue.close()
                throw error
            }
            return queue
        } catch let error as DatabaseError where [.SQLITE_IOERR, .SQLITE_CANTOPEN].contains(error.resultCode.primaryResultCode) {
            let walSize = ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? NSNumber)?.intValue ?? 0
            guard !location.hasSuffix("immutable=1"), walSize == 0 else { throw error }
            return try DatabaseQueue(path: readOnlyLocation(of: path, immutable: true), configuration: configuration)
        }
    }
}
