import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the file system under a path has room for.
enum FileSystemSpace {
    /// Below this many free bytes a write of a journal page, its WAL frame or its WAL index fails.
    static let fullBelow: UInt64 = 64 * 1024

    /// Whether the file system that holds `path` (or, for a file not made yet, its folder) is full:
    /// too few free blocks or no free inode for an unprivileged write.
    static func isFull(at path: String) -> Bool {
        var folder = path
        var status = statvfs()
        while statvfs(folder, &status) != 0 {
            let parent = (folder as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != folder else { return false }
            folder = parent
        }
        let freeBytes = UInt64(status.f_bavail) * UInt64(status.f_frsize)
        // A file system that counts no inodes (some report 0 of 0) is not out of them.
        let isOutOfInodes = status.f_files > 0 && status.f_favail == 0
        return freeBytes < fullBelow || isOutOfInodes
    }
}
