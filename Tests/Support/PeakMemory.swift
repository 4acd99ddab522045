import Foundation
import PicusJournalTesting
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run of the built CLI with the most memory it held resident, as the kernel counted it for that
/// one child (`wait4`): other processes the tests start do not blur it.
package struct MeasuredCommand {
    package let status: Int32
    /// Peak resident set size, in kilobytes on Linux (bytes on Apple platforms).
    package let peakResident: Int
    package let stdoutData: Data
    package let stderr: String
}

/// Runs the built `picus-journal` to completion, stdout and stderr to files, and measures its peak memory.
package func runCLIMeasuringMemory(_ arguments: [String], in folder: TemporaryFolder) async throws -> MeasuredCommand {
    let outPath = folder.path("measured-stdout-\(UUID().uuidString)")
    let errPath = folder.path("measured-stderr-\(UUID().uuidString)")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    var environment = ProcessInfo.processInfo.environment
    for name in ["PICUS_REFRESH_TOKEN", "PICUS_API_URL", "PICUS_JOURNAL_DB"] { environment[name] = nil }
    environment["NO_COLOR"] = "1"
    let argv: [UnsafeMutablePointer<CChar>?] = ([Products.cli.path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for pointer in argv + envp { free(pointer) }
    }
    var pid = pid_t()
    let spawned = posix_spawn(&pid, Products.cli.path, &actions, nil, argv, envp)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }

    // wait4 blocks: on a thread of its own, not the cooperative pool.
    let child = pid
    let (status, usage) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, rusage), Never>) in
        Thread {
            var status: Int32 = 0
            var usage = rusage()
            while wait4(child, &status, 0, &usage) == -1, errno == EINTR {}
            continuation.resume(returning: (status, usage))
        }.start()
    }
    // The exit code sits in the second byte when the low seven bits (the signal) are zero.
    let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    return MeasuredCommand(
        status: exitStatus, peakResident: Int(usage.ru_maxrss),
        stdoutData: try Data(contentsOf: URL(fileURLWithPath: outPath)),
        stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
}
