import Foundation
import HTTPTypes
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// A base URL the client cannot use is refused before anything is journaled, never a trap
/// (issue 19: `--base-url http://127.0.0.1:99999` crashed after the write-ahead, leaving an entry in flight).
struct BaseURLTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let environment: [String: String]
        let says: String
        var testDescription: String { (arguments + environment.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    static let cases = [
        Case(arguments: ["--base-url", "http://127.0.0.1:99999"], environment: [:], says: "port 99999"),
        Case(arguments: [], environment: ["PICUS_API_URL": "http://127.0.0.1:99999"], says: "$PICUS_API_URL"),
        Case(arguments: ["--base-url", "http://[::1]:65536"], environment: [:], says: "port 65536"),
        Case(arguments: ["--base-url", "http://127.0.0.1:0"], environment: [:], says: "port 0"),
        Case(arguments: ["--base-url", "http://h?x=1"], environment: [:], says: "a query"),
        Case(arguments: ["--base-url", "http://h#top"], environment: [:], says: "a fragment"),
        Case(arguments: ["--base-url", "http://operator:hunter2@h"], environment: [:], says: "user or password"),
    ]

    @Test(arguments: cases)
    func aBaseURLTheClientCannotUseIsAUsageErrorBeforeAnythingIsJournaled(case given: Case) async throws {
        let folder = try TemporaryFolder()
        let db = folder.path("journal.sqlite")

        for command in [["request", "GET", "/v1/agents"], ["replay"]] {
            let result = try await runCLI(command + given.arguments + ["--db", db], environment: given.environment, in: folder)

            #expect(result.status == 64, "\(command): \(result.stderr)")
            #expect(result.stderr.contains(given.says), "\(result.stderr)")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Not enough bits"), "\(result.stderr)")
            #expect(!result.stderr.contains("hunter2"))
            #expect(!FileManager.default.fileExists(atPath: db), "journaled nothing, not even the file")
        }
    }

    @Test(arguments: ["http://127.0.0.1:99999", "http://[::1]:65536", "http://127.0.0.1:8080?x=1", "http://127.0.0.1:8080#x",
                      "http://user:secret@127.0.0.1:8080"])
    func theClientRefusesABaseURLItCannotUseAndJournalsNothing(url: String) async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let client = JournaledClient(journal: journal, baseURL: try #require(URL(string: url)))

        let error = await #expect(throws: RequestError.self) { try await client.send(.get("/v1/agents")) }
        await #expect(throws: RequestError.self) { try await client.enqueue(.get("/v1/agents")) }

        #expect(error?.message.hasPrefix("the base URL ") == true, "\(String(describing: error))")
        #expect(error?.message.contains("secret") == false)
        #expect(try await journal.entries(matching: JournalQuery(limit: nil)).isEmpty)
    }

    @Test func theTransportRefusesAPortBeyondSixteenBitsInsteadOfTrapping() async throws {
        let request = HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1:99999", path: "/v1/agents")

        let error = await #expect(throws: TransportError.self) {
            try await DefaultTransport.shared.send(request, body: nil, options: TransportOptions(timeout: .seconds(5)))
        }

        #expect(error?.phase == .beforeSending)
    }
}
