import Foundation
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// Server text shown to people carries no control character raw: neither the C0 and C1 controls a
/// terminal obeys nor the bidirectional controls that make text read differently from what it holds
/// (issue 19: a U+202E in an error message reversed the rest of the `list` line).
struct TerminalTextTests {
    /// Every scalar that must never reach a terminal raw, with a letter after each so reordering shows.
    static let hostile: [Unicode.Scalar] = [
        "\u{00}", "\u{07}", "\u{1B}", "\u{7F}", "\u{85}", "\u{9B}", "\u{061C}", "\u{200E}", "\u{200F}", "\u{2028}", "\u{2029}",
        "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
    ]

    static func isHostile(_ scalar: Unicode.Scalar) -> Bool {
        hostile.contains(scalar) || scalar.value < 0x20 && scalar != "\n"
    }

    @Test func bidirectionalAndC1ControlsAreEscapedAndVisible() {
        var text = ""
        for scalar in Self.hostile {
            text.unicodeScalars.append(scalar)
            text += "x"
        }

        let escaped = text.escapingControlCharacters

        #expect(!escaped.unicodeScalars.contains(where: Self.isHostile), "\(escaped.debugDescription)")
        #expect(escaped.contains(#"\u{202e}x"#))
        #expect(escaped.contains(#"\u{2066}x"#))
        #expect(escaped.contains(#"\u{61c}x"#))
        #expect(escaped.contains(#"\x9bx"#))
        #expect(escaped.contains(#"\x00x"#))
        #expect("Ölçüm — مرحبا ✓".escapingControlCharacters == "Ölçüm — مرحبا ✓", "letters of any script stay as they are")
    }

    @Test func bidirectionalAndC1ControlsFromAServerReachNoTerminalRaw() async throws {
        let trick = "invoice\u{202E}gpj.exe\u{2066}x\u{2069} \u{200F}\u{061C}\u{009B}31m \u{0085} bell\u{07} end"
        // The details as a server's JSON escapes them: the journal holds the very scalars.
        let seeded = try await ManyEntries(count: 2, errors: { _ in #"{"\u202Efield":"\u2067v"}"# }, message: { _ in trick })
        let db = seeded.journal.path

        let outputs = [
            try await runCLI(["list", "--db", db], in: seeded.folder),
            try await runCLI(["show", "1", "--db", db], in: seeded.folder),
            try await runCLI(["stats", "--db", db], in: seeded.folder),
        ]

        for output in outputs {
            #expect(output.status == 0, "\(output.stderr)")
            for text in [output.stdout, output.stderr] {
                #expect(!text.unicodeScalars.contains(where: Self.isHostile), "a raw control character: \(text.debugDescription)")
            }
        }
        #expect(outputs[0].stdout.contains(#"\u{202e}"#), "\(outputs[0].stdout)")
        #expect(outputs[1].stdout.contains(#"invoice\u{202e}gpj.exe\u{2066}x\u{2069} \u{200f}\u{61c}\x9b31m \x85 bell\a end"#),
                "\(outputs[1].stdout)")
        #expect(outputs[1].stdout.contains(#"\u{202e}field"#))
        #expect(outputs[2].stdout.contains(#"invoice\u{202e}gpj.exe"#), "\(outputs[2].stdout)")
        let json = try await runCLI(["show", "1", "--format", "json", "--db", db], in: seeded.folder)
        #expect(json.stdout.unicodeScalars.contains("\u{202E}"), "machine-readable output keeps the text exact")
    }
}
