import Foundation

/// Where a fleet store is: `postgres://USER@HOST[:PORT]/DB[?sslmode=…]`, and the password found
/// for it the way PostgreSQL's own tools find one.
///
/// The password never comes from the URL (it would show in `ps`, shell history and logs): it comes
/// from `PGPASSWORD`, else from the first matching line of the password file — `PGPASSFILE`, else
/// `~/.pgpass` — in libpq's format, `hostname:port:database:username:password` with `*` wildcards.
/// As libpq does, a password file that others may read is ignored.
public struct FleetLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, unverified; plain otherwise. libpq's default.
        case prefer
        /// TLS or no connection; the certificate is not verified (libpq's `require`).
        case require
        /// TLS with the certificate verified against the system's roots, the host name not.
        case verifyCA = "verify-ca"
        /// TLS with the certificate and the host name verified.
        case verifyFull = "verify-full"
    }

    /// The user to log in as.
    public var user: String
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The database.
    public var database: String
    /// How TLS is used.
    public var tlsMode: TLSMode

    /// Parses a `postgres://` (or `postgresql://`) URL. The user defaults to `PGUSER`, else the
    /// login name; the port to 5432; the database to the user's name.
    ///
    /// - Throws: ``FleetError`` when the text is not such a URL, names a password, or an unknown `sslmode`.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isFleetURL(text), let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw FleetError("'\(Self.redacting(text))' is not a PostgreSQL URL; write postgres://USER@HOST[:PORT]/DB")
        }
        if components.password != nil {
            throw FleetError("put the PostgreSQL password in PGPASSWORD or ~/.pgpass, not in the URL, where ps and shell history would show it")
        }
        self.host = host
        port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw FleetError("\(port) is not a TCP port") }
        user = components.user?.removingPercentEncoding ?? environment["PGUSER"] ?? Self.loginName()
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        tlsMode = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    throw FleetError("sslmode=\(item.value ?? "") is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                tlsMode = mode
            default:
                throw FleetError("the PostgreSQL URL's parameter '\(item.name)' is not supported; only sslmode is")
            }
        }
    }

    /// Whether `text` names a fleet store rather than a journal file.
    public static func isFleetURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// The URL without anything secret: `postgres://picus@db.example:5432/fleet`.
    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }

    /// The password for this location from `PGPASSWORD` or the password file; nil when none is set.
    /// A warning goes to `warn` when the password file is ignored.
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment,
                         warn: (String) -> Void = { _ in }) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let file = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? NSHomeDirectory() + "/.pgpass")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file) else { return nil }
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            warn("ignoring the password file \(file): others may read it; chmod 0600 it")
            return nil
        }
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard !line.hasPrefix("#") else { continue }
            let fields = Self.passwordFileFields(line)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) {
                return fields[4]
            }
        }
        return nil
    }

    /// The fields of a password file's line: split at `:`, with `\:` and `\\` escaped.
    static func passwordFileFields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaping = false
        for character in line {
            if escaping {
                current.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    /// `text` without any password, for messages: whatever stands between `user:` and the last `@`
    /// of the authority goes, parsed or not (a raw password may hold what a URL parser rejects).
    public static func redacting(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        // The last '@': a raw password may itself hold '@', '/' or '?'.
        guard let at = rest.lastIndex(of: "@") else { return text }
        let user = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(text[..<scheme.upperBound]) + user + String(rest[at...])
    }

    private static func loginName() -> String {
        if let name = ProcessInfo.processInfo.environment["USER"], !name.isEmpty { return name }
        return "postgres"
    }
}
