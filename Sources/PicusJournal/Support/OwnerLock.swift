import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes this process testable for life by others on the host: it holds an advisory `flock` on a
/// file of its own, beside the journal, for as long as it lives.
///
/// A lease names its owner as `host:pid:instance`. Another process on the same host tests the owner
/// by trying to take the same lock: the kernel drops a dead process's locks at once, whatever killed
/// it, so a lock that can be taken means the owner is gone. The file lives in `<journal>-owners/`.
package final class OwnerLock: @unchecked Sendable {
    // Immutable after init; the descriptor is closed only in deinit.
    /// This process as the owner of the leases it takes on the journal.
    package let owner: LeaseOwner
    private let file: String
    private let descriptor: Int32
    // Set under `noteLock` when a note is written: such a file outlives the process, for recovery.
    private let noteLock = NSLock()
    private var hasNotes = false
    /// Where the next note goes: after the last whole one, in the reserved space while it lasts.
    private var noteEnd = 0

    /// What a test of a lease owner found.
    package enum Liveness: Sendable, Equatable {
        /// The owner holds its lock: its leases are never taken back.
        case alive
        /// The owner is gone: its leases are taken back at once.
        case dead
        /// Cannot be told from here (another host, a stopped process, an unknown owner format):
        /// the lease's expiry decides.
        case unknown
    }

    /// Takes this process's lock beside the journal at `journalPath`.
    package init(journalPath: String) throws {
        let host = Self.hostName
        let instance = UUID().uuidString.prefix(8).lowercased()
        let pid = getpid()
        let folder = Self.folder(forJournal: journalPath)
        let owner = LeaseOwner(host: host, pid: pid, instance: String(instance))
        let file = "\(folder)/\(owner.lockFileName)"
        var descriptor: Int32 = -1
        // Other processes sweep the folder: one may find the new file unlocked and remove it between
        // open and flock, or remove the folder's last file as it is made. Take the lock, then check that
        // the path still names the locked file; until it does, try again — bounded by time, not by a
        // count, for a hundred processes starting at once sweep each other many times.
        let deadline = ContinuousClock.now + .seconds(10)
        while descriptor < 0 {
            if mkdir(folder, 0o700) != 0, errno != EEXIST {
                throw JournalError(.cannotOpen, "cannot create \(folder), where senders leave their liveness locks: \(ExclusiveFile.describe(errno: errno)); check that the journal's folder is writable", path: journalPath)
            }
            let candidate = open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard candidate >= 0 else {
                let code = errno
                // The folder went between mkdir and open: make it again.
                if code == ENOENT, ContinuousClock.now < deadline { continue }
                throw JournalError(.cannotOpen, "cannot create the liveness lock \(file): \(ExclusiveFile.describe(errno: code))", path: journalPath)
            }
            guard flock(candidate, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                close(candidate)
                // A sweeper is testing the brand-new file: it will find it without notes and may remove it; try again.
                if code == EWOULDBLOCK, ContinuousClock.now < deadline {
                    sched_yield()
                    continue
                }
                throw JournalError(.cannotOpen, "cannot lock \(file): \(ExclusiveFile.describe(errno: code))", path: journalPath)
            }
            var opened = stat()
            var named = stat()
            if fstat(candidate, &opened) == 0, stat(file, &named) == 0, opened.st_ino == named.st_ino, opened.st_dev == named.st_dev {
                descriptor = candidate
            } else {
                close(candidate)
                if ContinuousClock.now >= deadline { break }
            }
        }
        guard descriptor >= 0 else {
            throw JournalError(.cannotOpen, "cannot hold the liveness lock \(file): it keeps disappearing", path: journalPath)
        }
        self.owner = owner
        self.file = file
        self.descriptor = descriptor
        Self.reserveNoteSpace(descriptor)
        Self.sweep(folder)
    }

    /// Removes the lock files without notes of owners that are gone (a process killed before it could
    /// remove its own). A file with notes stays for the writer that takes its leases back.
    private static func sweep(_ folder: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasSuffix(".lock") {
            let path = "\(folder)/\(name)"
            let descriptor = open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0, notes(in: descriptor).isEmpty {
                unlink(path)
            }
            close(descriptor)
        }
    }

    deinit {
        // A file with notes stays: the writer that takes the leases back reads them, then removes it.
        if !noteLock.withLock({ hasNotes }) { unlink(file) }
        close(descriptor)
    }

    /// This host's name, as leases record it.
    package static let hostName = ProcessInfo.processInfo.hostName

    /// The folder of the liveness locks of a journal's senders: beside the journal's real path, so that
    /// two processes that reach one journal through different links share one folder.
    package static func folder(forJournal path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path + "-owners"
    }

    /// What a sender that let go of a lease without recording its outcome left word of.
    package struct Note: Sendable, Equatable {
        /// The status it got, if it got one.
        package var status: Int?
        /// Why the outcome could not be recorded.
        package var reason: String

        package init(status: Int?, reason: String) {
            self.status = status
            self.reason = reason
        }
    }

    /// What a test of a lease found: whether its owner lives, and the note it left about this lease.
    package struct Verdict: Sendable, Equatable {
        /// Whether the owner lives.
        package var liveness: Liveness
        /// The owner's note about this lease, if it let go of it.
        package var note: Note?

        /// When the lease may be taken back: now when its owner is dead or gave it up with a note, at
        /// its expiry when the owner cannot be tested, never while the owner lives.
        package func recoverableAt(expiry: Date, now: Date) -> Date? {
            if note != nil { return now }
            switch liveness {
            case .dead: return now
            case .alive: return nil
            case .unknown: return expiry
            }
        }
    }

    /// Tests the owner of a lease — `host:pid:instance`, optionally followed by `/token`.
    ///
    package static func test(_ lease: String, journalPath: String) -> Verdict {
        guard let owner = LeaseOwner(owning: lease), owner.host == hostName else { return Verdict(liveness: .unknown) }
        let pid = owner.pid
        let file = "\(folder(forJournal: journalPath))/\(owner.lockFileName)"
        let descriptor = open(file, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            // Every sender makes its file before it takes a lease, and only a writer that found the
            // owner dead removes it; a missing file is a dead owner when no process has its pid.
            let missing = errno == ENOENT
            return Verdict(liveness: missing && kill(pid, 0) != 0 && errno == ESRCH ? .dead : .unknown)
        }
        defer { close(descriptor) }
        let note = notes(in: descriptor)[lease]
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            return Verdict(liveness: .dead, note: note)
        }
        return Verdict(liveness: isStopped(pid) ? .unknown : .alive, note: note)
    }

    /// Removes a dead owner's lock file, notes and all, once the writer that took its leases back has
    /// committed; a live owner's file is left alone.
    package static func removeIfDead(_ lease: String, journalPath: String) {
        guard let owner = LeaseOwner(owning: lease), owner.host == hostName else { return }
        let file = "\(folder(forJournal: journalPath))/\(owner.lockFileName)"
        let descriptor = open(file, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { unlink(file) }
        close(descriptor)
    }

    /// How much room a lock file keeps for notes: enough for a hundred or so.
    static let reservedNoteSpace: Int = 16 * 1024

    /// Reserves the disk blocks of the notes this process may leave, while the disk has room: a note
    /// matters most when the disk is full (a 2xx that could not be recorded must not be sent again),
    /// and writing into blocks already allocated needs no more. The reserved bytes are zeros, which no
    /// reader takes for a note. Where the file system cannot reserve, a note is written as any write
    /// is, and a sender that cannot leave one keeps its entry (see ``leaveNote(_:forLease:)``).
    private static func reserveNoteSpace(_ descriptor: Int32) {
        #if os(Linux)
        _ = posix_fallocate(descriptor, 0, off_t(reservedNoteSpace))
        #endif
    }

    /// Leaves word that this process let go of `lease` without recording its outcome, and why, so
    /// that the writer who takes the entry back records the truth and need not wait for the expiry.
    ///
    /// - Returns: Whether the note is on disk, synced: only then may the sender let go of the entry.
    @discardableResult
    package func leaveNote(_ note: Note, forLease lease: String) -> Bool {
        var line = Data()
        line.append(contentsOf: lease.utf8)
        line.append(UInt8(ascii: "\t"))
        line.append(contentsOf: (note.status.map(String.init) ?? "-").utf8)
        line.append(UInt8(ascii: "\t"))
        line.append(contentsOf: note.reason.replacingOccurrences(of: "\n", with: " ").utf8)
        line.append(UInt8(ascii: "\n"))
        return noteLock.withLock {
            hasNotes = true
            let offset = noteEnd
            let written = line.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            guard written == line.count else {
                // A part of a line is no note: the next note overwrites it.
                return false
            }
            noteEnd += line.count
            return fsync(descriptor) == 0
        }
    }

    /// The notes in a lock file: lease → note.
    private static func notes(in descriptor: Int32) -> [String: Note] {
        var contents = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while contents.count < 1 << 20 {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            contents.append(contentsOf: buffer[0..<count])
        }
        var notes: [String: Note] = [:]
        // Reserved space that holds no note yet is zeros; a line cut by a failed write is overwritten
        // by the next note, and a line is a note only when whole (lease, status, reason).
        for line in contents.split(separator: UInt8(ascii: "\n")) where !line.contains(0) {
            let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let text = fields.map { String(decoding: $0, as: UTF8.self) }
            notes[text[0]] = Note(status: Int(text[1]), reason: text[2])
        }
        return notes
    }

    /// Whether a process is stopped (SIGSTOP, a debugger): alive, but not renewing its leases.
    private static func isStopped(_ pid: Int32) -> Bool {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state == "T" || state == "t"
        #else
        return false
        #endif
    }
}
