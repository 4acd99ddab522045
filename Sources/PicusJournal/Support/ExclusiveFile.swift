import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates a new empty file with `mode`, unless one exists: two processes opening a new journal
/// at once never replace each other's file.
package enum ExclusiveFile {
    package enum Outcome {
        case created, alreadyExists, failed(errno: Int32)
    }

    package static func create(atPath path: String, mode: mode_t) -> Outcome {
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        if descriptor >= 0 {
            close(descriptor)
            return .created
        }
        let error = errno
        return error == EEXIST ? .alreadyExists : .failed(errno: error)
    }

    /// Renames `source` over `destination` in one step (POSIX rename): readers see the old file or the new, never half.
    package static func replace(_ destination: String, with source: String) -> Int32? {
        rename(source, destination) == 0 ? nil : errno
    }

    /// Links `source` at `destination` unless something is there already; nil on success, else errno
    /// (`EEXIST` when another process got there first).
    package static func link(_ source: String, to destination: String) -> Int32? {
        #if canImport(Glibc) || canImport(Musl)
        Glibc.link(source, destination) == 0 ? nil : errno
        #else
        Darwin.link(source, destination) == 0 ? nil : errno
        #endif
    }

    /// Removes a file; nil on success, else errno.
    @discardableResult
    package static func remove(_ path: String) -> Int32? {
        unlink(path) == 0 ? nil : errno
    }

    /// What is at a path, following links.
    package enum Kind: Equatable {
        case missing, regular, directory, fifo, socket, device, other

        /// What to call it in a message: "a FIFO".
        package var noun: String {
            switch self {
            case .missing: "nothing"
            case .regular: "a file"
            case .directory: "a folder"
            case .fifo: "a FIFO"
            case .socket: "a socket"
            case .device: "a device"
            case .other: "something other than a regular file"
            }
        }
    }

    /// What is at `path`, found with `stat`: never opened, for opening a FIFO waits for a writer.
    package static func kind(atPath path: String) -> Kind {
        var status = stat()
        guard stat(path, &status) == 0 else { return .missing }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        case S_IFCHR, S_IFBLK: return .device
        default: return .other
        }
    }

    /// The path a chain of symbolic links ends at (relative targets resolved against each link's
    /// folder); the path itself when it is not a link. At most 40 links, as the kernel allows.
    package static func followingLinks(_ path: String) -> String {
        var current = path
        for _ in 0..<40 {
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count > 0 else { return current }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
        }
        return current
    }

    package static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}
