import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PicusJournal
import PicusJournalMigrations
import PostgresNIO

/// Many agents' journals in one PostgreSQL database: what `picus-journal ship` writes and what
/// `picus-journal --db postgres://… list|show|stats|export` reads.
///
/// The tables live in the `picus_journal` schema and are made by the embedded migrations
/// (`Migrations/postgres/NNNN_name.sql`), applied in order by ``migrate()``; a store migrated by a
/// newer picus-journal is refused. The store answers the same `JournalQuery` as a journal, through
/// the same compiler, and its entries carry `Entry.agent`.
///
/// ```swift
/// let store = try await FleetStore.connect(to: FleetLocation("postgres://picus@db.internal/fleet"))
/// defer { Task { await store.close() } }
/// var query = JournalQuery(statuses: [.code(429)], since: JournalQuery.time("24h"))
/// query.agents = ["site-a", "site-b"]
/// let page = try await store.page(matching: query)
/// ```
public final class FleetStore: JournalReader {
    /// The PostgreSQL schema that holds the store's tables.
    public static let schema = "picus_journal"

    /// Where the store is.
    public let fleetLocation: FleetLocation
    /// How long the store waits for PostgreSQL.
    public let configuration: Configuration
    let connection: PostgresConnection
    let logger: Logger
    /// Fails the operations waiting on ``connection`` the moment it closes.
    let watch: ConnectionWatch

    /// The store's URL, without secrets.
    public var location: String { fleetLocation.description }

    private init(location: FleetLocation, configuration: Configuration, connection: PostgresConnection, logger: Logger) {
        self.fleetLocation = location
        self.configuration = configuration
        self.connection = connection
        self.logger = logger
        watch = ConnectionWatch(closeFuture: connection.closeFuture)
    }

    /// Connects to the store: the password from `PGPASSWORD` or the password file, TLS as the
    /// URL's `sslmode` says. Neither creates nor migrates anything.
    ///
    /// Cancelling the task that waits on the store, here or in any later call, closes the connection:
    /// postgres-nio cannot stop a query in flight, and a connection left in the middle of one is of no
    /// further use.
    ///
    /// - Parameters:
    ///   - location: Where the store is.
    ///   - configuration: How long to wait for PostgreSQL.
    ///   - environment: Where `PGPASSWORD` and `PGPASSFILE` are looked up.
    ///   - logger: Where the store logs.
    /// - Throws: ``FleetError`` when the server cannot be reached in time or refuses the login.
    public static func connect(
        to location: FleetLocation, configuration: Configuration = Configuration(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "picus.fleet")
    ) async throws -> FleetStore {
        let password = location.password(environment: environment) { logger.warning("\($0)") }
        var settings = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database,
            tls: try tls(for: location))
        // postgres-nio holds the TCP connect, the TLS handshake and the login to this one deadline.
        settings.options.connectTimeout = .milliseconds(max(1, configuration.connectTimeout.milliseconds))
        if location.tlsMode == .verifyFull { settings.options.tlsServerName = location.host }
        // postgres-nio logs each query at debug; a person sees only what picus-journal says.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let (connectSettings, connectLogger) = (settings, quiet)
        do {
            let connection = try await Race<PostgresConnection>.run(
                deadline: configuration.connectTimeout, watch: nil, giveUp: {}, discard: { $0.closeNow() }
            ) {
                try await PostgresConnection.connect(configuration: connectSettings, id: 1, logger: connectLogger)
            }
            return FleetStore(location: location, configuration: configuration, connection: connection, logger: connectLogger)
        } catch Interruption.deadline {
            throw FleetError("cannot reach PostgreSQL at \(location.host):\(location.port): no answer within \(configuration.connectTimeout.secondsDescription)", isTransient: true)
        } catch let error as CancellationError {
            throw error
        } catch {
            throw FleetError.wrapping(error, at: location, doing: "connect", hasPassword: password != nil)
        }
    }

    private static func tls(for location: FleetLocation) throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.tlsMode {
        case .disable: return .disable
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        do {
            let context = try NIOSSLContext(configuration: configuration)
            return location.tlsMode == .prefer ? .prefer(context) : .require(context)
        } catch {
            throw FleetError("cannot set up TLS for \(location): \(error)")
        }
    }

    /// Closes the connection, waiting at most ``Configuration/operationTimeout`` for it to close.
    public func close() async {
        let connection = connection
        _ = try? await Race<Void>.run(deadline: configuration.operationTimeout, watch: nil, giveUp: {}) {
            try await connection.close()
        }
    }

    // MARK: Schema

    /// Creates the schema if missing and applies the migrations it lacks, in one transaction under
    /// an advisory lock (agents shipping at once migrate once).
    ///
    /// - Throws: ``FleetError`` when the store was migrated by a newer picus-journal, or the user may
    ///   not create the schema.
    public func migrate() async throws {
        // Up to date: no DDL, so a role that may only write the tables ships too (PostgreSQL checks
        // the CREATE privilege even for `CREATE … IF NOT EXISTS`). Any failure to tell is left to the
        // transaction below, which says what it is.
        let found: Set<String>?
        do {
            found = try await appliedMigrations()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            found = nil
        }
        if let found {
            try checkNotNewer(found)
            if JournalMigrations.postgres.allSatisfy({ found.contains($0.identifier) }) { return }
        }
        let logger = logger
        try await run("migrate") { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(1346978634)", logger: logger)
                try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: Self.schema)", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(unescaped: Self.schema).schema_migration (
                        identifier TEXT PRIMARY KEY, appliedAt BIGINT NOT NULL)
                    """, logger: logger)
                let applied = try await Self.appliedMigrations(on: connection, logger: logger)
                try checkNotNewer(applied)
                for migration in JournalMigrations.postgres where !applied.contains(migration.identifier) {
                    for statement in Self.statements(of: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("""
                        INSERT INTO \(unescaped: Self.schema).schema_migration (identifier, appliedAt)
                        VALUES (\(migration.identifier), \(JournalClock.system.now().unixMilliseconds))
                        """, logger: logger)
                }
            }
        }
    }

    /// Checks that the store exists and has the schema this build reads.
    ///
    /// - Throws: ``FleetError`` when nothing was shipped there yet, or its schema is older or newer.
    public func checkSchema() async throws {
        guard let applied = try await appliedMigrations() else {
            throw FleetError("no fleet store at \(location) yet; ship a journal there first: picus-journal ship --to \(location)")
        }
        try checkNotNewer(applied)
        if let missing = JournalMigrations.postgres.first(where: { !applied.contains($0.identifier) }) {
            throw FleetError("the fleet store at \(location) lacks migration \(missing.identifier); run picus-journal ship --to \(location) to migrate it")
        }
    }

    /// The migrations applied to the store; nil when it has no schema or no migration table yet.
    private func appliedMigrations() async throws -> Set<String>? {
        let logger = logger
        return try await run("read") { connection in
            do {
                return try await Self.appliedMigrations(on: connection, logger: logger)
            } catch let error as PSQLError where ["42P01", "3F000"].contains(error.serverInfo?[.sqlState]) {
                return nil
            }
        }
    }

    private static func appliedMigrations(on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var applied: Set<String> = []
        for try await identifier in try await connection.query(
            "SELECT identifier FROM \(unescaped: Self.schema).schema_migration", logger: logger
        ).decode(String.self) {
            applied.insert(identifier)
        }
        return applied
    }

    private func checkNotNewer(_ applied: Set<String>) throws {
        let known = Set(JournalMigrations.postgres.map(\.identifier))
        if let unknown = applied.subtracting(known).sorted().last {
            throw FleetError("the fleet store at \(location) has schema \(unknown), newer than this picus-journal knows; upgrade picus-journal")
        }
    }

    /// The statements of a migration file: comments dropped, split where a line ends with `;`.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
        return statements
    }
}

extension FleetError {
    /// Says in one line what a failure of postgres-nio, NIO or TLS means for this store.
    static func wrapping(_ error: any Error, at location: FleetLocation, doing action: String, hasPassword: Bool = true) -> FleetError {
        if let error = error as? FleetError { return error }
        if let error = error as? PostgresTransactionError {
            return wrapping(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error,
                            at: location, doing: action, hasPassword: hasPassword)
        }
        let server = "PostgreSQL at \(location.host):\(location.port)"
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                let message = (error.serverInfo?[.message] ?? "an error").escapingControlCharacters
                switch state {
                case "28P01":
                    return FleetError("\(server) refused the password for user \(location.user); check PGPASSWORD or ~/.pgpass")
                case "28000":
                    return FleetError("\(server) refused user \(location.user): \(message)")
                case "3D000":
                    return FleetError("\(server) has no database \(location.database); create it, or name another in the URL")
                case "42501":
                    return FleetError("user \(location.user) may not \(action) the fleet store at \(location): \(message)")
                case "40P01", "40001":
                    // A deadlock or serialization failure with another shipper: the next try goes through.
                    return FleetError("\(server) aborted a ship that collided with another (\(message)); will try again", isTransient: true)
                case _ where state.hasPrefix("57P") || state.hasPrefix("08") || state.hasPrefix("53"):
                    return FleetError("\(server) is unavailable (\(message)); will work once it is back", isTransient: true)
                default:
                    return FleetError("\(server) failed to \(action): \(message) (SQLSTATE \(state))")
                }
            case .authMechanismRequiresPassword:
                return FleetError("\(server) wants a password for user \(location.user); set PGPASSWORD or add a line to ~/.pgpass")
            case .sslUnsupported:
                return FleetError("\(server) does not offer TLS, which sslmode=\(location.tlsMode.rawValue) requires")
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
                let cause = error.underlying.map { Self.describe($0) } ?? "the connection closed"
                if let underlying = error.underlying, underlying is NIOSSLError || String(describing: underlying).contains("SSL") {
                    return FleetError("TLS with \(server) failed: \(cause)")
                }
                return FleetError("cannot reach \(server): \(cause)", isTransient: true)
            default:
                return FleetError("\(server) failed to \(action): \(error.code)", isTransient: true)
            }
        }
        if error is NIOSSLError || error is BoringSSLError {
            return FleetError("TLS with \(server) failed: \(error)")
        }
        if error is IOError || error is ChannelError || error is NIOConnectionError {
            return FleetError("cannot reach \(server): \(Self.describe(error))", isTransient: true)
        }
        return FleetError("\(server) failed to \(action): \(String(describing: error).escapingControlCharacters)")
    }

    private static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused; is PostgreSQL running there?" }
        if text.contains("reset") { return "the connection was reset" }
        if text.contains("timed out") || text.contains("Timeout") || text.contains("connectTimeout") { return "the connection timed out" }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        return text.escapingControlCharacters
    }
}
