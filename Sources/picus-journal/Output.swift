import Foundation
import NIOCore
import PicusJournal

/// Whether stdout can still take output, and why not: every write for the rest of the process checks
/// it, and `reportingErrors` turns a failure into one line and exit 1.
final class OutputHealth: @unchecked Sendable {
    // `failure` is read and written under `lock`.
    private let lock = NSLock()
    private var failure: String?

    static let shared = OutputHealth()

    var problem: String? { lock.withLock { failure } }

    func record(_ problem: String) {
        lock.withLock { if failure == nil { failure = problem } }
    }

    /// Run first in `main`, before anything opens a file: a closed stdout is found here, and
    /// `/dev/null` is put in its place so that no file the process opens later (the journal, say)
    /// lands on descriptor 1 and receives output meant for stdout.
    static func checkStandardOutput() {
        guard fcntl(STDOUT_FILENO, F_GETFD) == -1, errno == EBADF else { return }
        shared.record("stdout is closed")
        let null = open("/dev/null", O_WRONLY)
        if null >= 0, null != STDOUT_FILENO {
            dup2(null, STDOUT_FILENO)
            close(null)
        }
    }
}

/// Writes to stdout, failing with one line (not a trap) when stdout cannot take it: closed, a full
/// disk, a reader that went away.
func writeOut(_ data: Data) throws {
    if let problem = OutputHealth.shared.problem { throw CLIError("cannot write the output: \(problem)") }
    do {
        try FileHandle.standardOutput.write(contentsOf: data)
    } catch {
        let problem = (error as NSError).localizedDescription
        OutputHealth.shared.record(problem)
        throw CLIError("cannot write the output: \(problem)")
    }
}

/// Writes a line for a person to stdout: control characters a server sent are shown escaped
/// (`\e`, `\r`, …), never raw. A failure is recorded, and reported when the command ends.
func say(_ text: String) {
    try? writeOut(Data((text.escapingControlCharactersExceptNewlines + "\n").utf8))
}

/// Writes a value as pretty JSON with sorted keys: the machine-readable output of `stats` and `doctor`.
func writeJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try writeOut(try encoder.encode(value) + Data("\n".utf8))
}

/// An error in one line of our words. NIO's `IOError` describes itself by a system call's signature
/// and a stray parenthesis (`bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)`):
/// its errno says it better, with what to do about a port in use.
func describe(_ error: any Error) -> String {
    guard let error = error as? IOError else { return String(describing: error) }
    let reason = ExclusiveFile.describe(errno: error.errnoCode)
    return error.errnoCode == EADDRINUSE ? "\(reason); pick a free port, or 0 for any" : reason
}

/// One line on stderr, control characters escaped: `picus-journal: error: …`.
func printError(_ message: String) {
    let line = message.split(whereSeparator: \.isNewline).joined(separator: " ").escapingControlCharacters
    try? FileHandle.standardError.write(contentsOf: Data("picus-journal: error: \(line)\n".utf8))
}

/// One line on stderr for a person, control characters escaped.
func note(_ message: String) {
    try? FileHandle.standardError.write(contentsOf: Data((message.escapingControlCharactersExceptNewlines + "\n").utf8))
}
