import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO

/// The PostgreSQL that `.ci/run` (through `scripts/test-postgres.sh`) starts for the fleet tests:
/// where it is, its password, and how to stop and start it.
package enum TestPostgres {
    private static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Whether a server was provided; without one the fleet tests are skipped.
    package static var isAvailable: Bool { environment["PICUS_TEST_POSTGRES_URL"] != nil && environment["PICUS_TEST_POSTGRES_PASSWORD"] != nil }

    package static var password: String { environment["PICUS_TEST_POSTGRES_PASSWORD"] ?? "" }

    /// The server's URL, naming its `postgres` database.
    package static var serverURL: URLComponents { URLComponents(string: environment["PICUS_TEST_POSTGRES_URL"] ?? "postgres://picus@127.0.0.1:5432/postgres")! }

    /// The environment a `picus-journal` process needs to log in.
    package static var cliEnvironment: [String: String] { ["PGPASSWORD": password] }

    /// A new, empty database for one test; returns its URL.
    package static func freshDatabase() async throws -> String {
        let name = "fleet_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        _ = try await rows(in: "postgres", "CREATE DATABASE \(name)")
        var url = serverURL
        url.path = "/\(name)"
        return url.string!
    }

    /// The rows of `sql` in `database`, every value as text (cast in the SQL where needed).
    package static func rows(in database: String, _ sql: String) async throws -> [[String?]] {
        let url = serverURL
        let configuration = PostgresConnection.Configuration(
            host: url.host!, port: url.port ?? 5432, username: url.user ?? "picus", password: password, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        do {
            var result: [[String?]] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) {
                result.append(try row.map { try $0.decode(String?.self) })
            }
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The rows of `sql` in the database of `url`.
    package static func rows(at url: String, _ sql: String) async throws -> [[String?]] {
        try await rows(in: String(URLComponents(string: url)!.path.dropFirst()), sql)
    }

    /// One number from `sql` in the database of `url`.
    package static func count(at url: String, _ sql: String) async throws -> Int {
        Int(try await rows(at: url, "SELECT (\(sql))::text").first?.first??.description ?? "") ?? -1
    }

    /// Stops the server (fast shutdown: sessions are ended), or starts it again.
    ///
    /// Spawned and reaped here, on a thread of its own: Foundation's `Process` was seen to miss the
    /// exit of a `pg_ctl start` whose server outlives it, leaving the test waiting.
    package static func control(_ action: String) async throws {
        let command = "\(environment["PICUS_TEST_POSTGRES_CTL"] ?? "false") \(action) </dev/null >/dev/null 2>&1"
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var pid: pid_t = 0
                let arguments = ["/bin/sh", "-c", command]
                var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
                defer { for pointer in argv { free(pointer) } }
                guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else {
                    continuation.resume(returning: -1)
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
        }
        guard status == 0 else { throw TestPostgresError(description: "pg_ctl \(action) failed") }
    }
}

package struct TestPostgresError: Error, CustomStringConvertible {
    package let description: String
}
