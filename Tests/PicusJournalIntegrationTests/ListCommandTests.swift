import Foundation
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// `list` at its edges: wide ids, a page that ends exactly at the limit, and many entries.
struct ListCommandTests {
    @Test func listShowsIdsOf100000AndMoreWhole() async throws {
        let seeded = try await ManyEntries(count: 3, firstID: 2_201_998)

        let result = try await seeded.list([])

        #expect(result.status == 0, "\(result.stderr)")
        // Each id whole, as `show` takes it: not "2201…".
        let lines = result.stdout.split(separator: "\n")
        for id in 2_201_998...2_202_000 {
            #expect(lines.contains { $0.hasPrefix("\(id) ") }, "\(result.stdout)")
        }
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(result.stdout)")
    }

    @Test func listPrintsNoCursorWhenExactlyTheLimitMatch() async throws {
        let seeded = try await ManyEntries(count: 3)

        for format in ["table", "json", "ndjson", "csv"] {
            let exact = try await seeded.list(["--limit", "3", "--format", format])
            #expect(exact.status == 0, "\(exact.stderr)")
            #expect(!exact.stderr.contains("--after"), "\(format): a cursor to an empty page: \(exact.stderr)")
        }
        let short = try await seeded.list(["--limit", "2", "--format", "ndjson"])
        let cursor = try #require(short.stderr.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(short.stderr.contains("--after"))
        let rest = try await seeded.list(["--limit", "2", "--format", "ndjson", "--after", cursor])
        #expect(rest.stdout.split(separator: "\n").count == 1)
        #expect(!rest.stderr.contains("--after"), "\(rest.stderr)")
    }

    @Test func listPagesThroughEveryEntryOnceAcrossBatches() async throws {
        // 1,100 entries: more than two of the batches the list reads, with pages that end mid-batch
        // and between entries of the same millisecond.
        let seeded = try await ManyEntries(count: 1_100)
        var seen: [Int64] = []
        var after: String?
        repeat {
            let page = try await seeded.list(["--format", "ndjson", "--limit", "700"] + (after.map { ["--after", $0] } ?? []))
            #expect(page.status == 0, "\(page.stderr)")
            for line in page.stdout.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                seen.append(try #require(object["id"] as? Int64))
            }
            after = page.stderr.contains("--after") ? page.stderr.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } : nil
        } while after != nil
        #expect(seen == (try await seeded.all()).map(\.id))
    }

    @Test func listJSONNDJSONAndCSVAreByteForByteTheWholeListsEncoding() async throws {
        // Awkward values: empty and nested error details, quotes, non-ASCII, a formula.
        let seeded = try await ManyEntries(count: 1_030, errors: { index in
            switch index % 4 {
            case 0: "{}"
            case 1: "[]"
            case 2: #"{"limit":["max",{"given":[]}],"name":"tag=\"x\""}"#
            default: nil
            }
        }, message: { index in index % 5 == 0 ? "=SUM(A1) é ✓ \"quoted\", \(index)" : "validation error \(index)" })
        let entries = try await seeded.all()

        let json = try await seeded.list(["--format", "json", "--limit", "5000"])
        let ndjson = try await seeded.list(["--format", "ndjson", "--limit", "5000"])
        let csv = try await seeded.list(["--format", "csv", "--limit", "5000"])

        #expect(json.stdout == (try EntryDocument.json(entries.map { EntryDocument($0) })) + "\n")
        #expect(ndjson.stdout == (try EntryDocument.ndjson(entries)))
        #expect(csv.stdout == EntryDocument.csv(entries))
        let empty = try await seeded.list(["--format", "json", "--path", "/nothing"])
        #expect(empty.stdout == "[]\n")
        let emptyCSV = try await seeded.list(["--format", "csv", "--path", "/nothing"])
        #expect(emptyCSV.stdout == EntryDocument.csv([]))
    }

    @Test func listJSONOfManyEntriesStreamsInBoundedMemory() async throws {
        // 3,000 entries with 16 KiB messages: about 50 MB of text. Held all at once — entries, their
        // documents, the encoded array and its copies — it took several times that.
        let message = String(repeating: "m", count: 16 * 1024)
        let seeded = try await ManyEntries(count: 3_000, message: { "\($0) \(message)" })
        let small = try await ManyEntries(count: 3)

        let baseline = try await runCLIMeasuringMemory(["list", "--db", small.journal.path, "--format", "json"], in: small.folder)
        let many = try await runCLIMeasuringMemory(["list", "--db", seeded.journal.path, "--format", "json", "--limit", "100000"],
                                                   in: seeded.folder)

        #expect(baseline.status == 0 && many.status == 0, "\(many.stderr)")
        #expect(many.stdoutData.count > 3_000 * 16 * 1024)
        #expect(try JSONSerialization.jsonObject(with: many.stdoutData) as? [Any] != nil)
        // Linux counts in KiB. The list is 48 MB of JSON: held whole it cost 200 MB more than three
        // entries; streamed it costs 20–80 MB more (the allocator's high-water mark varies with load).
        #expect(many.peakResident - baseline.peakResident < 120 * 1024,
                "peak \(many.peakResident) KiB against \(baseline.peakResident) KiB for three entries")
    }
}
