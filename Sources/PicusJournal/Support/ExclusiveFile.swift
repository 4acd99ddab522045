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

    package static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}
