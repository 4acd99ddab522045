import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// `--db` that names something other than a regular file is refused in one line, never opened
/// (issue 19: a FIFO made `list` wait forever for a writer). The time limit is what a hang fails on.
@Suite(.timeLimit(.minutes(2)))
struct JournalPathKindTests {
    enum Kind: String, CaseIterable, Sendable {
        case fifo, socket, device, folder
    }

    /// Makes a `kind` in `folder` and returns its path.
    private func make(_ kind: Kind, in folder: TemporaryFolder) throws -> String {
        let path = folder.path("journal-\(kind.rawValue)")
        switch kind {
        case .fifo:
            guard mkfifo(path, 0o600) == 0 else { throw POSIXError(.EIO) }
        case .socket:
            try bindUnixSocket(at: path)
        case .device:
            return "/dev/null"
        case .folder:
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        return path
    }

    static let commands: [[String]] = [
        ["list"], ["show", "1"], ["stats"], ["export", "--format", "ndjson"], ["prune", "--dry-run"], ["doctor"],
        ["replay", "--dry-run"], ["cancel", "1"], ["request", "GET", "/v1/agents", "--base-url", "http://127.0.0.1:9"],
    ]

    @Test(arguments: Kind.allCases)
    func aDBThatIsNotARegularFileIsRefusedInOneLineWithoutOpeningIt(kind: Kind) async throws {
        let folder = try TemporaryFolder()
        let path = try make(kind, in: folder)

        for command in Self.commands {
            let result = try await runCLI(command + ["--db", path], in: folder)

            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("--db \(path) is a"), "\(command): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(command): \(result.stdout)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).filter { !$0.hasPrefix("std") }
        #expect(left == (kind == .device ? [] : [URL(fileURLWithPath: path).lastPathComponent]), "nothing created beside it: \(left)")
    }

    @Test(arguments: Kind.allCases)
    func theLibraryRefusesAJournalPathThatIsNotARegularFile(kind: Kind) throws {
        let folder = try TemporaryFolder()
        let path = try make(kind, in: folder)

        #expect(throws: JournalError.self) { try Journal(path: path) }
        #expect(throws: JournalError.self) { try Journal(readingFrom: path) }
    }

    @Test func aLinkToAJournalFileIsStillAJournal() async throws {
        let folder = try TemporaryFolder()
        let created = try await runCLI(["request", "GET", "/v1/agents", "--base-url", "http://127.0.0.1:9", "--db", folder.path("j.sqlite")],
                                       in: folder)
        #expect(created.stderr.contains("queued"), "\(created.stderr)")
        try FileManager.default.createSymbolicLink(atPath: folder.path("link.sqlite"), withDestinationPath: folder.path("j.sqlite"))

        let list = try await runCLI(["list", "--format", "ndjson", "--db", folder.path("link.sqlite")], in: folder)

        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.split(separator: "\n").count == 1)
    }
}

/// Leaves a listening-less Unix socket file at `path`, as a server that bound one would.
private func bindUnixSocket(at path: String) throws {
    #if canImport(Glibc)
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
    #endif
    guard descriptor >= 0 else { throw POSIXError(.EIO) }
    defer { close(descriptor) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        buffer.copyBytes(from: bytes)
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else { throw POSIXError(.EIO) }
}
