import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PicusJournal
import PicusJournalTesting
import PicusSandbox

/// Runs `body` with a sandbox on 127.0.0.1 and a free port, and stops the sandbox after.
package func withSandbox<T>(
    _ configuration: PicusSandbox.Configuration = PicusSandbox.Configuration(),
    _ body: (PicusSandbox) async throws -> T
) async throws -> T {
    try await PicusSandbox.withRunning(configuration, body)
}

/// Journals `count` pending `POST /v1/simulations` through `client`, named `name-0`, `name-1`, … .
package func enqueueSimulations(_ count: Int, named name: String, on client: JournaledClient) async throws {
    for index in 0..<count {
        try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"\#(name)-\#(index)"}"#))
    }
}

/// A client on a journal in `folder`, signed in to `sandbox` with its refresh token.
package func makeClient(
    folder: TemporaryFolder, sandbox: PicusSandbox, refreshToken: String = "sandbox-refresh-token",
    configure: (inout JournaledClient.Configuration) -> Void = { _ in }
) throws -> JournaledClient {
    var configuration = JournaledClient.Configuration()
    configure(&configuration)
    return sandbox.client(on: try Journal(path: folder.path("journal.sqlite")), refreshToken: refreshToken, configuration: configuration)
}

/// The outcome of running the built `picus-journal` binary.
package struct CommandResult {
    package let status: Int32
    package let stdoutData: Data
    package let stderr: String

    package var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
}

/// Locates the binaries `swift build` put beside the test bundle.
package enum Products {
    package static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["PICUS_JOURNAL_PRODUCTS"] {
            return URL(fileURLWithPath: override)
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = executable.deletingLastPathComponent()
        // On Apple platforms the test bundle sits in the products folder, a few levels down.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("picus-journal").path),
            folder.pathComponents.count > 1
        {
            folder = folder.deletingLastPathComponent()
        }
        return folder
    }

    package static var cli: URL { directory.appendingPathComponent("picus-journal") }
}

/// Runs the built `picus-journal` to completion.
package func runCLI(_ arguments: [String], environment: [String: String] = [:], in folder: TemporaryFolder) async throws -> CommandResult {
    try await runBinary(Products.cli, arguments, environment: environment, in: folder)
}

/// Runs a binary to completion, with stdout and stderr captured through files (no pipe deadlock).
package func runBinary(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
               in folder: TemporaryFolder) async throws -> CommandResult {
    let outURL = folder.url.appendingPathComponent("stdout-\(UUID().uuidString)")
    let errURL = folder.url.appendingPathComponent("stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["PICUS_REFRESH_TOKEN"] = nil
    env["PICUS_API_URL"] = nil
    env["PICUS_JOURNAL_DB"] = nil
    env["NO_COLOR"] = "1"
    for (key, value) in environment { env[key] = value }
    process.environment = env
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    return CommandResult(
        status: status,
        stdoutData: try Data(contentsOf: outURL),
        stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// Every byte of a journal: the database, its WAL and its shared-memory file.
///
/// Read by a child process: a descriptor this process opened and closed on a journal it has open
/// would drop the POSIX locks SQLite holds, and let another process corrupt the file.
package func journalBytes(at path: String, includingSharedMemory: Bool = true) async throws -> Data {
    let folder = try TemporaryFolder()
    let files = (includingSharedMemory ? ["", "-wal", "-shm", "-journal"] : ["", "-wal", "-journal"]).map { path + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
    let result = try await runBinary(URL(fileURLWithPath: "/bin/cat"), files, in: folder)
    return result.stdoutData
}

extension Data {
    package func contains(_ text: String) -> Bool {
        range(of: Data(text.utf8)) != nil
    }
}

/// A `picus-journal` process the test talks to while it runs: its stdout arrives line by line.
package final class RunningProcess: @unchecked Sendable {
    // `process` is configured before it starts and only read afterwards; `lines` is consumed by one test.
    package let process = Process()
    private var iterator: AsyncStream<String>.Iterator
    private let exit: Task<Int32, any Error>
    private let pipe = Pipe()
    private let errorPipe = Pipe()
    /// Appended to from the pipe's reading thread.
    private let errorOutput = LockedValue(Data())

    /// What the process wrote to stderr so far: a crash's message, for a failed expectation to show.
    package var stderr: String { errorOutput.withLock { String(decoding: $0, as: UTF8.self) } }

    package init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = Products.cli
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = pipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        errorPipe.fileHandleForReading.readabilityHandler = { [errorOutput] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                errorOutput.withLock { $0.append(data) }
            }
        }
        let (lines, continuation) = AsyncStream<String>.makeStream()
        let buffer = LineBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            for line in buffer.append(data) { continuation.yield(line) }
        }
        iterator = lines.makeAsyncIterator()
        let (status, statusContinuation) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = {
            statusContinuation.yield($0.terminationStatus)
            statusContinuation.finish()
        }
        try process.run()
        exit = Task {
            var iterator = status.makeAsyncIterator()
            return await iterator.next() ?? -1
        }
    }

    /// The next line the process prints, or nil once its output ends.
    package func nextLine() async -> String? {
        await iterator.next()
    }

    /// Reads lines until one contains `text`; returns every line read.
    package func lines(until text: String) async -> [String] {
        var seen: [String] = []
        while let line = await nextLine() {
            seen.append(line)
            if line.contains(text) { break }
        }
        return seen
    }

    /// Sends SIGTERM.
    package func terminate() { process.terminate() }

    /// Sends SIGKILL: the process stops at once, wherever it is.
    package func kill() {
        #if canImport(Glibc)
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        #else
        _ = Darwin.kill(process.processIdentifier, SIGKILL)
        #endif
    }

    /// Waits for the process to exit and returns its status.
    package func exitStatus() async throws -> Int32 {
        try await exit.value
    }

    deinit {
        // A failed test must not leave a `replay --watch` behind.
        if process.isRunning { kill() }
    }

    /// Whether it died of a signal.
    package var wasKilled: Bool { process.terminationReason == .uncaughtSignal }
}

/// A tiny tmpfs to fill up, where the machine lets the tests mount one (root on Linux).
package enum SmallDisk {
    package static let isAvailable: Bool = {
        guard let folder = try? TemporaryFolder() else { return false }
        let probe = folder.path("probe")
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)) != nil,
            runQuietly("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])
        else { return false }
        return runQuietly("/bin/umount", ["-l", probe])
    }()

    /// Mounts a tmpfs of `kilobytes` at `path`.
    package static func mount(at path: String, kilobytes: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard runQuietly("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0700", "tmpfs", path]) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    package static func unmount(_ path: String) {
        _ = runQuietly("/bin/umount", ["-l", path])
    }

    /// A tmpfs of `kilobytes` in a temporary folder of its own, unmounted when the value goes.
    package final class Mounted: Sendable {
        /// Where it is mounted.
        package let path: String
        private let folder: TemporaryFolder

        package init(kilobytes: Int) throws {
            folder = try TemporaryFolder()
            path = folder.path("disk")
            try SmallDisk.mount(at: path, kilobytes: kilobytes)
        }

        deinit { SmallDisk.unmount(path) }

        /// Fills its blocks until a write fails for want of room: a few hundred writes. (Its inodes are
        /// not filled: a tmpfs has as many as memory allows, and making them held a thread of the
        /// test's cooperative pool for seconds, which starved the other tests.)
        package func fill() {
            guard FileManager.default.createFile(atPath: path + "/filler", contents: nil),
                let handle = FileHandle(forWritingAtPath: path + "/filler")
            else { return }
            let block = Data(repeating: 0x66, count: 4096)
            while (try? handle.write(contentsOf: block)) != nil {}
            try? handle.close()
        }

        /// Frees what ``fill()`` took.
        package func free() throws {
            try FileManager.default.removeItem(atPath: path + "/filler")
        }
    }

    private static func runQuietly(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// Splits a byte stream into lines.
package final class LineBuffer: @unchecked Sendable {
    // Only the pipe's readability handler touches the buffer, one call at a time.
    private var pending = Data()

    package func append(_ data: Data) -> [String] {
        pending.append(data)
        var lines: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
            pending.removeSubrange(pending.startIndex...newline)
        }
        return lines
    }
}
