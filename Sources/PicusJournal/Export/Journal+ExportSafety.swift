import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Journal {
    /// Refuses an export path that leads onto this journal: the database file, its `-wal`, `-shm`
    /// or `-journal`, its owners folder (`<journal>-owners/`, where senders hold their liveness
    /// locks) or anything inside that folder — however the path is spelled, through links and hard
    /// links alike. An export written there would replace the journal's bytes with JSON, or make
    /// it unopenable under a running writer.
    ///
    /// What exists is compared by device and inode; a file still to be created is compared by its
    /// folder's canonical path and its name against the journal's companion names.
    ///
    /// - Throws: ``JournalError`` with code ``JournalError/Code/exportOntoJournal``, before anything is written.
    package func refuseExport(toFile target: String) throws {
        let protected = ProtectedFiles(journalPath: path)
        var status = stat()
        if stat(target, &status) == 0 {
            if let what = protected.match(FileNode(status)) { throw refusal(target, what) }
            return
        }
        // Nothing there yet: the export creates the file a chain of links ends at, in its folder.
        let created = ExclusiveFile.followingLinks(target)
        let url = URL(fileURLWithPath: created)
        guard let folder = canonicalPath(url.deletingLastPathComponent().path) else { return }
        if let what = protected.match(canonicalFolder: folder, name: url.lastPathComponent) { throw refusal(target, what) }
    }

    /// Refuses an open descriptor (the export's stdout) that is one of this journal's files: a
    /// shell's `>> journal.sqlite` would otherwise receive the export.
    package func refuseExport(toDescriptor descriptor: Int32, shownAs shown: String) throws {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return }
        if let what = ProtectedFiles(journalPath: path).match(FileNode(status)) { throw refusal(shown, what) }
    }

    private func refusal(_ target: String, _ what: String) -> JournalError {
        JournalError(.exportOntoJournal,
                     "\(target) is \(what); an export never writes onto the journal: pass another file, like ticket.har",
                     path: path)
    }
}

/// The journal's files and what to call each in a message.
private struct ProtectedFiles {
    /// Canonical paths of the journal's files, existing or not, with what each is.
    private var names: [String: String] = [:]
    /// The identities of those that exist, and of everything in the owners folder.
    private var identities: [FileNode: String] = [:]
    /// The owners folder, canonical, and its identity when it exists.
    private let ownersFolder: String
    private let ownersIdentity: FileNode?

    init(journalPath: String) {
        // SQLite names its companions after the path it opened, and the owners folder is named
        // after the resolved one: both spellings are protected.
        let given = URL(fileURLWithPath: journalPath)
        let inCanonicalFolder = canonicalPath(given.deletingLastPathComponent().path)
            .map { ($0 == "/" ? "" : $0) + "/" + given.lastPathComponent } ?? given.path
        let resolved = canonicalPath(journalPath) ?? inCanonicalFolder
        let companions = [
            ("", "the journal itself"), ("-wal", "the journal's write-ahead log"),
            ("-shm", "the journal's shared-memory file"), ("-journal", "the journal's rollback journal"),
        ]
        for base in [inCanonicalFolder, resolved] {
            for (suffix, what) in companions {
                names[base + suffix] = what
                if let identity = FileNode(path: base + suffix) { identities[identity] = what }
            }
        }
        let owners = OwnerLock.folder(forJournal: journalPath)
        ownersFolder = canonicalPath(owners) ?? owners
        names[ownersFolder] = "the journal's owners folder"
        ownersIdentity = FileNode(path: ownersFolder)
        if let ownersIdentity { identities[ownersIdentity] = "the journal's owners folder" }
        // A hard link elsewhere to a lock file is that lock file.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: ownersFolder)) ?? [] {
            if let identity = FileNode(path: ownersFolder + "/" + name) {
                identities[identity] = "a file in the journal's owners folder"
            }
        }
    }

    /// What an existing file is to the journal, or nil when it is none of its files.
    func match(_ identity: FileNode) -> String? {
        identities[identity]
    }

    /// What a file still to be created in `folder` (canonical) as `name` would be to the journal.
    func match(canonicalFolder folder: String, name: String) -> String? {
        if folder == ownersFolder || folder.hasPrefix(ownersFolder + "/")
            || (ownersIdentity != nil && FileNode(path: folder) == ownersIdentity) {
            return "inside the journal's owners folder"
        }
        return names[(folder == "/" ? "" : folder) + "/" + name]
    }
}

/// The path with every link and `.`/`..` resolved, or nil when it does not exist.
private func canonicalPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}
