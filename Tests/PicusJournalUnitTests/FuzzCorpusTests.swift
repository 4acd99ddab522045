import Foundation
import PicusJournalFuzzing
import Testing
import PicusJournalTesting

/// The fuzzing seed corpus, run as an ordinary test: every example body of the Picus documents and
/// every hostile input the hardening issue names keeps the properties the fuzzer checks.
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    @Test func everySeedKeepsEveryProperty() throws {
        let seeds = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)

        #expect(seeds.count > 200, "the corpus is missing: run scripts/make-fuzz-corpus.py")
        for seed in seeds {
            let violations = Fuzzing.check(try Data(contentsOf: seed))
            #expect(violations.isEmpty, "\(seed.lastPathComponent): \(violations)")
        }
    }
}
