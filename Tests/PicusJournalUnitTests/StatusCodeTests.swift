import Foundation
import PicusJournal
import Testing
import PicusJournalTesting

struct StatusCodeTests {
    @Test func everyDocumentedCodeHasItsNameAndDefaultDisposition() {
        let expected: [Int: StatusCode.Disposition] = [
            200: .success, 201: .success, 204: .success,
            400: .permanent, 401: .refreshThenPermanent, 402: .permanent, 403: .permanent, 404: .permanent,
            408: .retryable, 410: .permanent, 422: .permanent, 429: .retryable,
            500: .permanent, 503: .retryable, 504: .retryable,
        ]
        #expect(Set(StatusCode.documentedCodes.map(\.rawValue)) == Set(expected.keys))
        for (code, disposition) in expected {
            let status = StatusCode(code)
            #expect(status.disposition == disposition, "\(code)")
            #expect(status.isDocumented)
            #expect(!status.meaning.isEmpty)
        }
        #expect(StatusCode(422).name == "UNPROCESSABLE ENTITY")
        #expect(StatusCode(429).name == "TOO MANY REQUEST")
        #expect(StatusCode(500).meaning.contains("contact Picus support"))
    }

    @Test func undocumentedCodesFollowTheirClass() {
        #expect(StatusCode(202).disposition == .success)
        #expect(StatusCode(418).disposition == .permanent)
        #expect(StatusCode(502).disposition == .permanent)
        #expect(StatusCode(599).name == "HTTP 599")
        #expect(!StatusCode(599).isDocumented)
    }

    /// The source document lists codes as "NNN NAME" lines; every one of them must be known by that name.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: SharedDocuments.responseCodes)))
    func everyCodeOfTheResponseCodesPageIsKnown() throws {
        let text = try String(contentsOfFile: SharedDocuments.responseCodes, encoding: .utf8)
        var found = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 3, let code = Int(parts[0]), parts[1] == parts[1].uppercased() else { continue }
            found += 1
            #expect(StatusCode(code).isDocumented, "\(code)")
            #expect(StatusCode(code).name == String(parts[1]), "\(code)")
        }
        #expect(found == 14)
    }
}

enum SharedDocuments {
    /// `../shared/picus/response-codes.txt`, beside the package.
    static var responseCodes: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/picus/response-codes.txt").path
    }
}
