import Foundation
import GRDB

/// What `doctor` found: one check per line, each healthy or not, with what to do.
public struct Diagnosis: Sendable, Encodable {
    /// One check.
    public struct Check: Sendable, Encodable {
        /// What was checked: `integrity`, `schema`, `permissions`, …
        public var name: String
        /// Whether all is well.
        public var isHealthy: Bool
        /// What was found.
        public var detail: String
        /// What to do, when something is wrong.
        public var advice: String?
    }

    /// Every check, in the order they ran.
    public var checks: [Check]

    /// Whether every check passed.
    public var isHealthy: Bool { checks.allSatisfy(\.isHealthy) }

    private enum Key: String, CodingKey { case healthy, checks }

    /// Encodes the diagnosis as `doctor --format json` prints it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(isHealthy, forKey: .healthy)
        try container.encode(checks, forKey: .checks)
    }
}

extension Journal {
    /// Opens the journal at `path` and checks it; a journal that cannot be opened is a failed check, not an error.
    public static func diagnose(path: String, thorough: Bool = false) async -> Diagnosis {
        do {
            return try await Journal(readingFrom: path).diagnose(thorough: thorough)
        } catch {
            let isDamaged = (error as? JournalError)?.code == .corrupt
            return Diagnosis(checks: [Diagnosis.Check(
                name: "open", isHealthy: false, detail: String(describing: error),
                advice: isDamaged ? "move the file aside and start a new journal; keep it for Picus support" : nil)])
        }
    }

    /// Checks the journal's health: integrity, schema version, counts by state, WAL size, file
    /// permissions, the queue, leases and holds.
    ///
    /// - Parameters:
    ///   - thorough: Run `PRAGMA integrity_check` (reads every index) instead of `quick_check`.
    ///   - now: The clock.
    public func diagnose(thorough: Bool = false, now: Date? = nil) async throws -> Diagnosis {
        let now = now ?? clock.now()
        var checks: [Diagnosis.Check] = []
        let pragma = thorough ? "integrity_check" : "quick_check"
        do {
            let problems = try await read { db in try String.fetchAll(db, sql: "PRAGMA \(pragma)(20)") }.filter { $0 != "ok" }
            checks.append(.init(
                name: "integrity", isHealthy: problems.isEmpty,
                detail: problems.isEmpty ? "\(pragma): ok" : "\(pragma): \(problems.prefix(3).joined(separator: "; "))",
                advice: problems.isEmpty ? nil
                    : "the file is damaged: save what can be read with `picus-journal export --format ndjson -o rescue.ndjson`, then move the journal aside and start a new one"))
        } catch {
            checks.append(.init(name: "integrity", isHealthy: false, detail: "\(error)",
                                advice: "the file is damaged: move it aside and start a new journal; keep it for Picus support"))
            return Diagnosis(checks: checks)
        }

        let applied = try schemaVersions()
        let isCurrent = applied == Self.knownSchemaVersions
        checks.append(.init(name: "schema", isHealthy: isCurrent,
                            detail: "version \(applied.last ?? "none") (this binary knows \(Self.knownSchemaVersions.last ?? "none"))",
                            advice: isCurrent ? nil : "run a writer of this picus-journal once (`picus-journal replay`) to migrate it"))

        let counts = try await countsByState()
        let summary = EntryState.allCases.compactMap { state in counts[state].map { "\(state.rawValue) \($0)" } }
        checks.append(.init(name: "entries", isHealthy: true, detail: summary.isEmpty ? "none" : summary.joined(separator: ", ")))

        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        let walLimit = 256 * 1024 * 1024
        checks.append(.init(name: "wal", isHealthy: walSize <= walLimit, detail: "\(walSize / 1024) KiB",
                            advice: walSize <= walLimit ? nil
                                : "a long-running reader keeps the WAL from being checkpointed: stop long exports or idle connections; it shrinks at the next checkpoint"))

        checks.append(permissionCheck())

        let abandoned = try await recoverableLeaseTimes(now: now).filter { $0 <= now }.count
        let (oldest, search) = try await read { db in
            let oldest = try Entry.fetchOne(db, sql: "\(Self.entrySelection) WHERE entry.state IN (\(Self.waitingStates)) ORDER BY entry.createdAt LIMIT 1")
            return (oldest, self.hasFullTextSearch)
        }
        if let oldest {
            let overdue = (oldest.dueAt ?? oldest.createdAt) < now.addingTimeInterval(-3600)
            checks.append(.init(
                name: "queue", isHealthy: !overdue,
                detail: "oldest waiting: entry \(oldest.id), written \(ISO8601.string(from: oldest.createdAt))"
                    + (oldest.dueAt.map { ", due \(ISO8601.string(from: $0))" } ?? ""),
                advice: overdue ? "entries have been due for over an hour: is a replayer running? run `picus-journal replay` or start `replay --watch`" : nil))
        } else {
            checks.append(.init(name: "queue", isHealthy: true, detail: "nothing waiting"))
        }
        checks.append(.init(name: "leases", isHealthy: abandoned == 0,
                            detail: abandoned == 0 ? "no abandoned lease" : "\(abandoned) entries left in flight by a sender that stopped",
                            advice: abandoned == 0 ? nil : "run `picus-journal replay` to take them back"))
        let holds = try await self.holds(at: now)
        checks.append(.init(name: "holds", isHealthy: true,
                            detail: holds.isEmpty ? "none" : holds.map { "\($0.key) until \(ISO8601.string(from: $0.until)) (\($0.reason))" }.joined(separator: "; ")))
        checks.append(.init(name: "search", isHealthy: true,
                            detail: search ? "error messages indexed (FTS5)" : "no FTS5 in this SQLite: --grep scans"))
        return Diagnosis(checks: checks)
    }

    private func permissionCheck() -> Diagnosis.Check {
        let fileManager = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        let fileMode = (try? fileManager.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        let folderMode = (try? fileManager.attributesOfItem(atPath: folder.isEmpty ? "." : folder)[.posixPermissions] as? Int) ?? 0
        var problems: [String] = []
        var fixes: [String] = []
        if fileMode & 0o077 != 0 {
            problems.append("the file is \(String(fileMode, radix: 8)), readable by others")
            fixes.append("chmod 600 \(path)")
        }
        // A folder others may write to lets them replace the journal; a sticky one such as /tmp does not.
        if folderMode & 0o022 != 0, folderMode & 0o1000 == 0 {
            problems.append("its folder is \(String(folderMode, radix: 8)), writable by others")
            fixes.append("chmod go-w \(folder)")
        }
        return .init(name: "permissions", isHealthy: problems.isEmpty,
                     detail: problems.isEmpty ? "file \(String(fileMode, radix: 8)), folder \(String(folderMode, radix: 8))" : problems.joined(separator: "; "),
                     advice: fixes.isEmpty ? nil : fixes.joined(separator: " && "))
    }
}
