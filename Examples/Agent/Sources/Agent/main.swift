import Foundation
import Logging
import PicusSandbox

// Against the Picus API when PICUS_API_URL and PICUS_REFRESH_TOKEN are set; otherwise against an
// embedded sandbox whose first answer to the POST is a 503, so that the replay has work to do.
LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
let logger = Logger(label: "agent")
let environment = ProcessInfo.processInfo.environment
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("picus-agent-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let journalPath = environment["PICUS_JOURNAL_DB"] ?? folder.appendingPathComponent("journal.sqlite").path
let ticketPath = folder.appendingPathComponent("ticket.har").path

do {
    if let url = environment["PICUS_API_URL"].flatMap(URL.init(string:)), let token = environment["PICUS_REFRESH_TOKEN"] {
        try await runAgent(baseURL: url, refreshToken: token, journalPath: journalPath, ticketPath: ticketPath, logger: logger)
    } else {
        let sandbox = try await PicusSandbox.start()
        await sandbox.addFault(SandboxFault(status: 503, count: 1, method: "POST", path: "/v1/simulations", retryAfter: "0"))
        try await runAgent(baseURL: sandbox.url, refreshToken: "sandbox-refresh-token", journalPath: journalPath,
                           ticketPath: ticketPath, logger: logger)
        await sandbox.stop()
    }
    print("journal: \(journalPath)\nticket: \(ticketPath)")
} catch {
    FileHandle.standardError.write(Data("agent: \(error)\n".utf8))
    exit(1)
}
