import Foundation
import GRDB
import Logging
import PicusJournalMigrations

/// The SQLite journal: every request, every attempt, durably.
///
/// Opening a journal creates it when it does not exist (folder 0700, file 0600), puts it in WAL
/// mode and migrates it with the `.sql` files embedded in this binary. It refuses, without
/// touching the file, a file that is not SQLite, a SQLite database that is not a journal, and a
/// journal migrated by a newer picus-journal.
///
/// ```swift
/// let journal = try Journal(path: "/var/lib/agent/journal.sqlite")
/// let failures = try await journal.entries(matching: JournalQuery(statuses: [.code(422)]))
/// ```
///
/// A `Journal` is safe to share between tasks and threads; several processes may open the same file.
public final class Journal: Sendable {
    /// How a journal is opened.
    public struct Configuration: Sendable {
        /// When a commit reaches the disk.
        public enum Durability: String, Sendable, CaseIterable {
            /// Every commit is flushed to the disk before it returns: an entry survives a power cut.
            case full
            /// Commits survive a crash of the process, not a power cut; faster on slow disks.
            case normal
        }

        /// How long a write waits, and how many connections read.
        public struct Limits: Sendable {
            /// How long a write waits for another process's lock before it fails.
            public var busyTimeout: Duration = .seconds(10)
            /// How many connections may read at once.
            public var maximumReaderCount = 4

            /// The default limits.
            public init() {}
        }

        /// Where the journal logs.
        public struct Observability: Sendable {
            /// Where the journal logs what it does, at debug level at most. Nothing it logs holds a
            /// secret. Default: a disabled logger — pass your own, as with AsyncHTTPClient.
            public var logger = Logger.disabled

            /// The default observability: no logs.
            public init() {}
        }

        /// When a commit reaches the disk. Default `.full`.
        public var durability: Durability = .full
        /// How long a write waits, and how many connections read.
        public var limits = Limits()
        /// Where the journal logs.
        public var observability = Observability()
        /// Where the journal, and every client and replay engine on it, read the time. Default:
        /// ``JournalClock/system``; tests pass one they set.
        public var clock = JournalClock.system

        /// The default configuration.
        public init() {}
    }

    /// The journal file's path.
    public let path: String
    /// The time, as the journal and everything on it read it.
    package var clock: JournalClock { configuration.clock }
    /// How it was opened.
    public let configuration: Configuration
    /// A pool for a writer; one read-only connection for a reader.
    let writer: any DatabaseWriter
    /// Shares transactions between concurrent writes.
    private let commits: GroupCommit?
    /// Whether error messages are indexed for full-text search (SQLite with FTS5).
    public let hasFullTextSearch: Bool
    private let ownerLockSlot = OwnerLockSlot()
    /// Keeps alive the leases of every entry this process is sending on this journal: one renewer
    /// per journal and process, shared by its clients and replay engines.
    package let leaseRenewer = LeaseRenewer()
    /// The file this journal opened, to tell when another takes its name.
    let openedIdentity: FileNode?

    /// The `application_id` every journal carries in its header: 'PICJ'.
    static let applicationID: Int32 = 0x5049_434A

    /// Opens the journal at `path`, migrating it as needed, and creating it unless told not to.
    ///
    /// - Parameters:
    ///   - path: The journal file.
    ///   - configuration: Durability, timeouts, logging.
    ///   - createIfMissing: Create a missing journal (and its folder); false makes a missing one an error,
    ///     as readers want: a mistyped path must not look like an empty journal.
    /// - Throws: ``JournalError`` with code `notFound`, `notSQLite`, `foreignDatabase`, `schemaTooNew`,
    ///   `schemaMismatch`, `cannotOpen`, `corrupt`, `readOnly` or `diskFull`. The file is left as it was.
    public convenience init(path: String, configuration: Configuration = Configuration(), createIfMissing: Bool = true) throws {
        try self.init(path: path, configuration: configuration, createIfMissing: createIfMissing, readOnly: false)
    }

    /// Opens the journal at `path` to read it, and never writes a byte: no creation, no migration, no
    /// checkpoint. What `list`, `show`, `stats`, `export` and `doctor` use.
    ///
    /// A journal of an older schema is read as it is. A user who may only read the file, in a folder
    /// they cannot write, can read it as long as its `-shm` and `-wal` files exist and are readable
    /// (SQLite's rule for read-only WAL databases) or no writer has it open (no `-wal` file).
    ///
    /// - Throws: ``JournalError`` with code `notFound`, `notSQLite`, `foreignDatabase`, `schemaTooNew`,
    ///   `cannotOpen` or `corrupt`.
    public convenience init(readingFrom path: String, configuration: Configuration = Configuration()) throws {
        try self.init(path: path, configuration: configuration, createIfMissing: false, readOnly: true)
    }

    /// Whether this handle only reads.
    package let isReadOnly: Bool

    private init(path: String, configuration: Configuration, createIfMissing: Bool, readOnly: Bool) throws {
        let requested = (path as NSString).expandingTildeInPath
        self.configuration = configuration
        self.isReadOnly = readOnly
        if !createIfMissing, !FileManager.default.fileExists(atPath: requested) {
            throw JournalError(.notFound, "no journal at \(requested); check --db or $PICUS_JOURNAL_DB (`picus-journal request`, `replay` and the library create one)", path: requested)
        }
        // Found with stat, never opened: SQLite's open of a FIFO would wait for a writer for ever.
        let kind = ExclusiveFile.kind(atPath: requested)
        if kind != .missing, kind != .regular {
            throw JournalError(.cannotOpen, "\(requested) is \(kind.noun), not a journal file; pass the path of a journal file", path: requested)
        }
        if !readOnly { try Self.prepareFile(at: requested) }
        let path = try Self.sharedPath(for: requested)
        self.path = path
        openedIdentity = FileNode(path: path)
        let isJournal = try Self.inspect(path: path)
        if readOnly, !isJournal {
            throw JournalError(.notFound, "\(path) is empty, not a journal yet; `picus-journal request` or `replay` makes it one", path: path)
        }

        var dbConfiguration = GRDB.Configuration()
        dbConfiguration.busyMode = .timeout(configuration.limits.busyTimeout.timeInterval)
        dbConfiguration.maximumReaderCount = configuration.limits.maximumReaderCount
        dbConfiguration.label = "picus-journal"
        let synchronous = configuration.durability == .full ? "FULL" : "NORMAL"
        dbConfiguration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                // The writer's temporary tables in memory: on disk, SQLite made, opened and deleted a
                // temporary file on one write in four (strace), each a handful of system calls. Not the
                // readers': a large sort (`stats --by day`, an export's filter) spills to a file, not to RSS.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        dbConfiguration.readonly = readOnly
        do {
            if readOnly {
                writer = try Self.openForReading(path, configuration: dbConfiguration)
            } else {
                let pool = try DatabasePool(path: path, configuration: dbConfiguration)
                // GRDB's pool sets `synchronous = NORMAL` on its writer after `prepareDatabase` runs:
                // the durability asked for is set again here, where it sticks.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
                try Self.migrate(pool)
                writer = pool
            }
            commits = readOnly ? nil : GroupCommit(writer: writer)
            hasFullTextSearch = try writer.read { db in try db.tableExists("attemptSearch") }
            if !readOnly { try Self.checkShape(of: writer, path: path) }
        } catch {
            throw JournalError.wrapping(error, path: path, doing: "open")
        }
        configuration.observability.logger.debug("journal opened", metadata: ["picus.journal.path": "\(path)", "picus.journal.read_only": "\(readOnly)"])
    }

    /// Closes the journal's connections now: the last one out checkpoints the WAL into the file and
    /// removes it, so a reader without write access finds a plain database.
    ///
    /// Connections also close when the journal is deinitialized; a process about to exit calls this
    /// instead of relying on the order in which its tasks let go. Every later use throws.
    ///
    /// - Throws: ``JournalError`` when a connection is still in use.
    public func close() throws {
        do {
            // The pool closes its writer before its readers, and a reader closing last leaves the
            // WAL behind: the readers go first, so that the writer is the last connection out.
            (writer as? DatabasePool)?.releaseMemory()
            try writer.close()
        } catch {
            throw JournalError.wrapping(error, path: path, doing: "close")
        }
    }

    /// The writer connection's `PRAGMA synchronous`: 2 for ``Configuration/Durability/full``, 1 for normal.
    package func writerSynchronous() async throws -> Int {
        try await write("read the settings of") { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// This process's liveness lock beside the journal, taken on first use: every lease names it.
    package func ownerLock() throws -> OwnerLock {
        try ownerLockSlot.lock(forJournal: path)
    }

    /// Migrates, tolerating another process that migrated the same journal at the same moment.
    private static func migrate(_ writer: DatabasePool) throws {
        do {
            try migrator.migrate(writer)
        } catch {
            let complete = (try? writer.read { db in try migrator.hasCompletedMigrations(db) }) ?? false
            if !complete { throw error }
        }
    }

    /// The schema versions (migration identifiers) this binary knows, oldest first.
    public static var knownSchemaVersions: [String] { JournalMigrations.all.map(\.identifier) }

    /// The schema versions applied to this journal, oldest first.
    public func schemaVersions() throws -> [String] {
        do {
            return try writer.read { db in try Self.migrator.appliedMigrations(db) }
        } catch {
            throw JournalError.wrapping(error, path: path, doing: "read")
        }
    }

    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        for migration in JournalMigrations.all {
            migrator.registerMigration(migration.identifier) { db in
                if migration.needsFullTextSearch, !(try hasFTS5(db)) { return }
                guard migration.editsSchemaInPlace else {
                    try db.execute(sql: migration.sql)
                    return
                }
                // SQLite's procedure for changing a CHECK constraint in place, inside the migration's
                // transaction: the file turns writable_schema on and off; the version bump is computed.
                let version = try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? 0
                defer { try? db.execute(sql: "PRAGMA writable_schema = OFF") }
                try db.execute(sql: migration.sql)
                try db.execute(sql: "PRAGMA schema_version = \(version + 1)")
            }
        }
        return migrator
    }()

    /// The columns each table has once every migration ran, read off an in-memory database.
    private static let expectedShape: [String: Set<String>] = {
        guard let queue = try? DatabaseQueue(), (try? migrator.migrate(queue)) != nil else { return [:] }
        return (try? queue.read { db in
            var shape: [String: Set<String>] = [:]
            for table in ["entry", "attempt", "hold"] {
                shape[table] = Set(try db.columns(in: table).map(\.name))
            }
            return shape
        }) ?? [:]
    }()

    /// Refuses a journal whose tables lack columns its schema version promises (an altered file):
    /// reading it would fail on every entry.
    private static func checkShape(of writer: any DatabaseWriter, path: String) throws {
        let missing: [String] = try writer.read { db in
            var missing: [String] = []
            for (table, columns) in expectedShape.sorted(by: { $0.key < $1.key }) {
                let actual = try db.tableExists(table) ? Set(try db.columns(in: table).map(\.name)) : []
                missing += columns.subtracting(actual).sorted().map { "\(table).\($0)" }
            }
            return missing
        }
        guard missing.isEmpty else {
            throw JournalError(.schemaMismatch, "journal \(path) lacks \(missing.prefix(3).joined(separator: ", ")) that its schema version promises: it was altered or written by an unreleased build; move it aside and start a new journal", path: path)
        }
    }

    private static func hasFTS5(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT sqlite_compileoption_used('ENABLE_FTS5')") ?? false
    }

    /// Runs a write transaction, translating database failures into ``JournalError``.
    ///
    /// The write is shielded from the caller's cancellation: the outcome of a request that left the
    /// process is recorded even when the task that sent it is being cancelled.
    /// Concurrent writes share a transaction (``GroupCommit``); each returns once its transaction committed.
    /// `inline: false` keeps a lone write off the caller's thread (see `GroupCommit.write`).
    func write<T: Sendable>(
        _ action: String, inline: Bool = true, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            guard let commits else { throw JournalError(.readOnly, "journal \(path) was opened read-only", path: path) }
            return try await commits.write(inline: inline, body)
        } catch {
            throw JournalError.wrapping(error, path: path, doing: action)
        }
    }

    /// Runs a read, translating database failures into ``JournalError``.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.read(body)
        } catch {
            throw JournalError.wrapping(error, path: path, doing: "read")
        }
    }
}

/// The journal's owner lock, made on first use.
private final class OwnerLockSlot: @unchecked Sendable {
    // `lock` guards `made`, which is written once.
    private let lock = NSLock()
    private var made: OwnerLock?

    func lock(forJournal path: String) throws -> OwnerLock {
        try lock.withLock {
            if let made { return made }
            let new = try OwnerLock(journalPath: path)
            made = new
            return new
        }
    }
}
