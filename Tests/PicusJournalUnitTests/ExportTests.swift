import Foundation
import GRDB
@testable import PicusJournal
import Testing
import PicusJournalFixtures
import PicusJournalTesting

struct ExportTests {
    private func export(_ seeded: SeededJournal, _ format: ExportFormat, query: JournalQuery = JournalQuery(limit: nil),
                        options: ExportOptions = ExportOptions()) async throws -> (Data, ExportResult) {
        let sink = Sink()
        let result = try await seeded.journal.export(matching: query, as: format, options: options) { sink.append($0) }
        return (sink.data, result)
    }

    @Test func harHasEveryFieldTheHAR12SpecRequiresAndOneEntryPerAttempt() async throws {
        let seeded = try await SeededJournal.make()
        let (data, result) = try await export(seeded, .har)

        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let log = try #require(root["log"] as? [String: Any])
        #expect(log["version"] as? String == "1.2")
        let creator = try #require(log["creator"] as? [String: Any])
        #expect(creator["name"] is String && creator["version"] is String)
        let entries = try #require(log["entries"] as? [[String: Any]])
        #expect(entries.count == 8)   // 7 attempts and the pending entry
        #expect(result.attempts == 7)
        for entry in entries {
            for key in ["startedDateTime", "time", "request", "response", "cache", "timings"] {
                #expect(entry[key] != nil, "entry lacks \(key)")
            }
            #expect(ISO8601.date(from: entry["startedDateTime"] as? String ?? "") != nil)
            let request = try #require(entry["request"] as? [String: Any])
            for key in ["method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"] {
                #expect(request[key] != nil, "request lacks \(key)")
            }
            #expect(URL(string: request["url"] as? String ?? "")?.scheme == "https")
            let response = try #require(entry["response"] as? [String: Any])
            for key in ["status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"] {
                #expect(response[key] != nil, "response lacks \(key)")
            }
            let content = try #require(response["content"] as? [String: Any])
            #expect(content["size"] is Int && content["mimeType"] is String)
            let timings = try #require(entry["timings"] as? [String: Any])
            for key in ["send", "wait", "receive"] { #expect(timings[key] is Double || timings[key] is Int, "timings lack \(key)") }
            #expect(entry["_entryId"] is Int && entry["_uuid"] is String && entry["_state"] is String && entry["_attempt"] is Int)
        }
        let invalid = try #require(entries.first { $0["_entryId"] as? Int64 == seeded.ids["invalid"] })
        let error = try #require(invalid["_error"] as? [String: Any])
        #expect(error["message"] as? String == "validation error")
        let response = try #require(invalid["response"] as? [String: Any])
        #expect(response["status"] as? Int == 422)
        #expect((response["content"] as? [String: Any])?["text"] as? String
                == #"{"message":"validation error","errors":{"limit":"tag=max, param=50, given value=1000"}}"#)
    }

    @Test func exportsAreRedacted() async throws {
        let seeded = try await SeededJournal.make()
        for format in ExportFormat.allCases {
            let (data, _) = try await export(seeded, format)
            let text = String(decoding: data, as: UTF8.self)
            #expect(!text.contains("s3cr3t"), "\(format): a query token")
            #expect(!text.contains("hunter2"), "\(format): a body password")
            #expect(!text.contains("session=abc"), "\(format): a cookie")
            #expect(text.contains("<redacted>") || format == .csv)
        }
    }

    @Test func ndjsonHasOneEntryPerLineWithItsAttempts() async throws {
        let seeded = try await SeededJournal.make()
        let (data, result) = try await export(seeded, .ndjson)
        let lines = data.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 8)
        #expect(result.entries == 8)
        var ids: [Int64] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let history = try #require(object["history"] as? [[String: Any]])
            #expect(history.count == object["attempts"] as? Int)
            ids.append(try #require(object["id"] as? Int64))
        }
        #expect(Set(ids) == Set(seeded.ids.values))
    }

    @Test func csvHasAHeaderAndOneRowPerAttempt() async throws {
        let seeded = try await SeededJournal.make()
        let (data, _) = try await export(seeded, .csv)
        let rows = CSVReader.parse(String(decoding: data, as: UTF8.self))
        #expect(rows.first == ["entryId", "uuid", "createdAt", "method", "url", "state", "attempt", "startedAt", "durationMs",
                               "status", "transportError", "outcome", "errorMessage", "errorCode", "errors", "retryAfterMs"])
        #expect(rows.count == 1 + 8)
        #expect(rows.dropFirst().allSatisfy { $0.count == 16 })
        let duplicate = try #require(rows.first { $0[0] == String(seeded.ids["duplicate"]!) })
        #expect(duplicate[12] == "simulation_already_exist")
        #expect(duplicate[13] == "1001")
        #expect(duplicate[9] == "400")
    }

    @Test func theFiltersAndLimitApplyToExports() async throws {
        let seeded = try await SeededJournal.make()
        let (data, result) = try await export(seeded, .ndjson, query: JournalQuery(statuses: [.class(4)], limit: 2))
        #expect(result.entries == 2)
        #expect(data.split(separator: UInt8(ascii: "\n")).count == 2)
    }

    @Test func aBundleCarriesTheSummaryInTheHAR() async throws {
        let seeded = try await SeededJournal.make()
        var options = ExportOptions()
        options.summary = "support bundle"
        options.statistics = try await seeded.journal.statistics(matching: JournalQuery())
        let (data, _) = try await export(seeded, .har, options: options)
        let log = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["log"] as? [String: Any])
        #expect(log["comment"] as? String == "support bundle")
        #expect((log["_summary"] as? [String: Any])?["total"] as? Int == 8)
    }
}

struct StatisticsTests {
    @Test func countsFailureRateTopErrorsAndTheQueue() async throws {
        let seeded = try await SeededJournal.make()
        let statistics = try await seeded.journal.statistics(matching: JournalQuery())
        #expect(statistics.total == 8)
        #expect(statistics.byState == ["succeeded": 1, "failed": 3, "queued": 3, "pending": 1])
        #expect(statistics.failureRate == 0.75)
        #expect(statistics.queueDepth == 4)
        #expect(statistics.oldestQueued?.id == seeded.ids["gateway"])
        #expect(statistics.topErrors.count == 5)
        #expect(statistics.topErrors.allSatisfy { $0.count == 1 })
        let all = try await seeded.journal.statistics(matching: JournalQuery(), topErrorCount: 10)
        #expect(Set(all.topErrors.map(\.message)) == ["validation error", "simulation_already_exist", "not found error",
                                                      "service unavailable", "504 Gateway Time-out", "no route"])
    }

    @Test func groupsByStatusAndByDay() async throws {
        let seeded = try await SeededJournal.make()
        let byStatus = try await seeded.journal.statistics(matching: JournalQuery(), by: .status)
        let counts = Dictionary(uniqueKeysWithValues: byStatus.groups.map { ($0.key, $0.count) })
        #expect(counts == ["200": 1, "400": 1, "404": 1, "422": 1, "503": 1, "504": 1, "refused": 1, "none": 1])
        #expect(byStatus.groups.first { $0.key == "422" }?.failureRate == 1)
        let byDay = try await seeded.journal.statistics(matching: JournalQuery(), by: .day)
        #expect(byDay.groups.map(\.count).reduce(0, +) == 8)
        #expect(byDay.groups.map(\.key) == byDay.groups.map(\.key).sorted())
        let filtered = try await seeded.journal.statistics(matching: JournalQuery(statuses: [.class(4)]), by: .errorCode)
        #expect(filtered.total == 3)
        #expect(filtered.groups.first { $0.key == "1001" }?.count == 1)
    }
}

/// Collects export output.
final class Sink: @unchecked Sendable {
    // Only the export's single reader thread appends, one chunk at a time; the test reads after it returns.
    private(set) var data = Data()
    func append(_ chunk: Data) { data.append(chunk) }
}

struct ExportEncodingTests {
    /// The hand-written NDJSON writer says exactly what the documented `Encodable` form says.
    @Test func ndjsonLinesEqualTheShowFormOfEachEntry() async throws {
        let seeded = try await SeededJournal.make()
        let sink = Sink()
        _ = try await seeded.journal.export(matching: JournalQuery(limit: nil), as: .ndjson) { sink.append($0) }
        let lines = sink.data.split(separator: UInt8(ascii: "\n"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for line in lines {
            let exported = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? NSDictionary)
            let id = try #require(exported["id"] as? Int64)
            let entry = try #require(try await seeded.journal.entry(id: id))
            let attempts = try await seeded.journal.attempts(ofEntry: id)
            let documented = try JSONSerialization.jsonObject(with: encoder.encode(EntryDocument(entry, attempts: attempts))) as? NSDictionary
            #expect(exported == documented, "entry \(id)")
        }
        #expect(lines.count == 8)
    }

    /// The NDJSON export reads SQLite's columns directly; byte for byte it says what the model path
    /// (`Entry`, `Attempt`, `EntryDocument`) says, on entries made to be awkward: values no client
    /// writes, check constraints switched off, as a foreign or damaged journal could hold.
    @Test func ndjsonFromColumnsEqualsTheModelPathByteForByte() async throws {
        let seeded = try await SeededJournal.make()
        let queue = try DatabaseQueue(path: seeded.folder.path("journal.sqlite"))
        try await queue.write { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            let headers = [
                #"{"X-Api-Key":"k\u00e9y","Accept":"a\"b\\c","Authorization":"Bearer tok en","cookie":"c=1","x-trace":"\u0001"}"#,
                "not json", "{}", #"{"authorization":"Bearer <redacted>","content-type":"application/json"}"#,
            ]
            let entries: [[(any DatabaseValueConvertible)?]] = [
                // uuid, createdAt, method, path, query, headers, body, state, attemptCount, lastStatus, lastTransportError,
                // lastErrorMessage, lastErrorCode, nextAttemptAt, leaseOwner, leaseExpiresAt, traceContext
                ["ABCDEF01-2345-6789-ABCD-EF0123456789", 1_000, "GET", "/v1/a\"b\u{01}", "token=abc&x=%74oken&name=ü", headers[0],
                 Data(#"{"password":"hunter2","name":"x","nested":{"api_key":"k"}}"#.utf8), "failed", 2, 422, nil, "bad \"input\"\n",
                 "007", nil, nil, nil, #"{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}"#],
                ["not-a-uuid", -5, "POST", "/v1/ü", "", headers[1], Data([0x00, 0xFF, 0x10]), "weird", 5, nil, "dns",
                 nil, "12", 253_402_300_800_001, "owner \u{7F}", 0, #"{"traceparent":"junk"}"#],
                ["00000000-0000-0000-0000-00000000000g", 2_000, "PUT", "/v1/x", "a=1&refresh_token=zz&b", headers[2],
                 Data("a=1&token=zzz".utf8), "queued", 1, 503, "zzz", "m", "-0", 3_000, "o", 4_000, nil],
                [UUID().uuidString.lowercased(), 3_000, "DELETE", "/v1/y", nil, headers[3], nil, "succeeded", 1, 200, nil,
                 nil, "9223372036854775808", nil, nil, nil, nil],
                [UUID().uuidString, 3_000, "GET", "/v1/same-time", nil, nil, Data(), "cancelled", 0, nil, nil, nil, "1e3", nil, nil, nil, nil],
            ]
            for values in entries {
                try db.execute(sql: """
                    INSERT INTO entry (uuid, createdAt, updatedAt, method, path, endpoint, query, requestHeaders, requestBody, state,
                        attemptCount, lastStatus, lastTransportError, lastErrorMessage, lastErrorCode, nextAttemptAt, leaseOwner,
                        leaseExpiresAt, traceContext)
                    VALUES (?, ?, ?, ?, ?, 'GET /x', ?, COALESCE(?, '{}'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: StatementArguments([values[0], values[1], values[1]] + values[2...]))
            }
            // Invalid UTF-8 in text columns: SQLite keeps what it is given.
            try db.execute(sql: "UPDATE entry SET lastErrorMessage = CAST(X'C328FF' AS TEXT), method = CAST(X'474500' AS TEXT) WHERE uuid = 'not-a-uuid'")
            let first = try Int64.fetchOne(db, sql: "SELECT id FROM entry WHERE uuid = 'ABCDEF01-2345-6789-ABCD-EF0123456789'")!
            let second = try Int64.fetchOne(db, sql: "SELECT id FROM entry WHERE uuid = 'not-a-uuid'")!
            let attempts: [[(any DatabaseValueConvertible)?]] = [
                // entryId, number, startedAt, durationMs, status, transportError, outcome, responseHeaders, errorMessage, errorCode,
                // errors, bodyKind, body, bodySize, retryAfterMs, rateLimitLimit, rateLimitRemaining, rateLimitReset
                [first, 1, 1_000, 1.23456, 503, nil, "retryable", headers[0], "try later", "42", #"{"b":1,"a":[1.5,"x",null,true]}"#,
                 "json", Data(#"{"message":"try later","token":"t0k"}"#.utf8), nil, 1500, nil, nil, 99],
                [first, 2, 1_001, 1e20, 422, nil, "permanent", nil, "bad", "x y", "{", "json", nil, 70_000, nil, 10, 0, nil],
                [second, 1, 1_002, 0.1, nil, "offline", "nonsense", headers[3], "only a message", nil, #"{"a":1}"#, "weird",
                 Data("ignored".utf8), 5, nil, nil, 3, nil],
                [second, 5, 1_003, 7, 500, nil, "permanent", "{}", nil, nil, #"["e"]"#, "binary", Data([0xDE, 0xAD, 0x00, 0xBE]), nil,
                 nil, 1, nil, nil],
                [second, 4, 1_004, 2.5, 500, nil, "permanent", "{}", nil, "5", nil, "html", Data("<html>\r\n</html>".utf8), 12, nil,
                 nil, nil, nil],
            ]
            for values in attempts {
                try db.execute(sql: """
                    INSERT INTO attempt (entryId, number, startedAt, durationMs, status, transportError, outcome, responseHeaders,
                        errorMessage, errorCode, errors, bodyKind, body, bodySize, retryAfterMs, rateLimitLimit, rateLimitRemaining,
                        rateLimitReset)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: StatementArguments(values))
            }
        }
        try queue.close()

        let sink = Sink()
        let result = try await seeded.journal.export(matching: JournalQuery(limit: nil), as: .ndjson) { sink.append($0) }
        let lines = sink.data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 13 && result.entries == 13 && result.attempts == 12)
        let entries = try await seeded.journal.page(matching: JournalQuery(limit: nil)).entries
        #expect(entries.count == lines.count)
        for (line, entry) in zip(lines, entries) {
            let expected = Sink()
            var model = ExportWriter(format: .ndjson, options: ExportOptions()) { expected.append($0) }
            try model.add(entry, try await seeded.journal.attempts(ofEntry: entry.id))
            _ = try model.end()
            #expect(String(decoding: line, as: UTF8.self) + "\n" == String(decoding: expected.data, as: UTF8.self), "entry \(entry.id)")
            #expect(Data(line) + Data("\n".utf8) == expected.data, "entry \(entry.id), bytes")
        }
        let text = String(decoding: sink.data, as: UTF8.self)
        for secret in ["hunter2", "t0k", "zzz", "tok en", "=abc", "=zz"] { #expect(!text.contains(secret), "\(secret) leaked") }
    }

    @Test func aCRLFInAFieldIsQuotedInCSV() {
        #expect(CSV.field("line one\r\nline two") == "\"line one\r\nline two\"")
        #expect(CSV.field("plain") == "plain")
        #expect(CSV.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
    }

    @Test func formBodiesAndEscapedKeysAreRedacted() {
        #expect(Redactor.body(Data("grant_type=refresh&refresh_token=abc".utf8)) == Data("grant_type=refresh&refresh_token=<redacted>".utf8))
        let escaped = Redactor.body(Data(#"{"\u0074oken":"abc"}"#.utf8))
        #expect(!String(decoding: escaped, as: UTF8.self).contains("abc"))
    }

    @Test func controlCharactersAndUnicodeSurviveTheWriter() async throws {
        let seeded = try await SeededJournal([SeededJournal.Seed(
            name: "odd", path: "/v1/agents", status: 400, message: "tab\\there \\\"quoted\\\" ünïcødé ✓ \\u0001", state: .failed)])
        let sink = Sink()
        _ = try await seeded.journal.export(matching: JournalQuery(limit: nil), as: .ndjson) { sink.append($0) }
        let object = try #require(try JSONSerialization.jsonObject(with: sink.data.dropLast()) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["message"] as? String == "tab\there \"quoted\" ünïcødé ✓ \u{01}")
    }
}
