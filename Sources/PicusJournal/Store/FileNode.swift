import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file as the kernel knows it: its device and inode, whatever path reaches it.
package struct FileNode: Sendable, Hashable {
    package let device: UInt64
    package let inode: UInt64

    /// The identity of what `path` names now (links followed); nil when nothing is there.
    package init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        self.init(status)
    }

    /// The identity of the file `status` describes.
    package init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}

extension Journal {
    /// The path SQLite is given for a journal: the one name every process uses for the same file.
    ///
    /// SQLite names a journal's `-wal` and `-shm` after the path it was opened with, and the owner
    /// folder is named the same way: two processes that reach one file through two hard-linked names
    /// would each get a WAL of their own and corrupt it. A file with several links is opened by the
    /// first of its names (in byte order) in its folder; a link in another folder cannot be found
    /// from here, and such a journal is refused.
    static func sharedPath(for path: String) throws -> String {
        var status = stat()
        guard stat(path, &status) == 0, status.st_nlink > 1, (status.st_mode & S_IFMT) == S_IFREG else { return path }
        let folder = (path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
        let identity = FileNode(path: path)
        let links = names.filter { name in
            !name.hasSuffix("-wal") && !name.hasSuffix("-shm") && !name.hasSuffix("-journal")
                && FileNode(path: folder.isEmpty ? name : "\(folder)/\(name)") == identity
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        guard links.count == Int(status.st_nlink), let first = links.first else {
            throw JournalError(.cannotOpen, "journal \(path) has \(status.st_nlink) hard links, some outside its folder: SQLite keeps a WAL per name, and two names would damage it; remove the extra links (a symbolic link is fine)", path: path)
        }
        return folder.isEmpty ? first : "\(folder)/\(first)"
    }

    /// Whether the file at ``path`` is no longer the one this journal opened: it was replaced (`mv`
    /// of another file onto the name) or removed. A long-running replayer checks this, for what it
    /// writes and reads is the old file, which nobody else sees any more.
    package var isReplaced: Bool {
        FileNode(path: path) != openedIdentity
    }
}
