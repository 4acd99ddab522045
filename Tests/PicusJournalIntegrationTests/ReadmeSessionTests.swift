import Foundation
import PicusJournalTestSupport
import PicusJournalTesting
import PicusSandbox
import Testing

/// The README's CLI session is reproducible as written: every ```console block of `README.md` is run, one
/// shell for the whole block, against a sandbox on a free port, and each command's output (stdout, then
/// what it wrote to stderr, as a terminal shows them) is compared with the lines under it.
///
/// As snapshot tools such as trycmd do, what differs from run to run is set aside on both sides before the
/// comparison: times, UUIDs, durations, byte counts and rate-limit budgets. The README's addresses are put
/// in for the test's own: `http://127.0.0.1:8080` is the sandbox, `/tmp/readme` a temporary folder and
/// `$PWD/.build/debug` the folder of the binaries under test. A line `…` stands for any number of lines.
struct ReadmeSessionTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// One `$ command` of a block, and the lines printed under it.
    struct Step {
        var command: String
        var expected: [String]
    }

    /// The ```console blocks of a Markdown text, each as its steps.
    static func sessions(in text: String) -> [[Step]] {
        var sessions: [[Step]] = []
        var current: [Step]?
        for line in text.components(separatedBy: "\n") {
            if current == nil {
                if line.trimmingCharacters(in: .whitespaces) == "```console" { current = [] }
            } else if line.trimmingCharacters(in: .whitespaces) == "```" {
                sessions.append(current!)
                current = nil
            } else if line.hasPrefix("$ ") {
                current!.append(Step(command: String(line.dropFirst(2)), expected: []))
            } else if !current!.isEmpty {
                current![current!.count - 1].expected.append(line)
            }
        }
        return sessions
    }

    /// What may differ between two runs of the same session, replaced by a placeholder.
    private static let variable: [(pattern: String, placeholder: String)] = [
        (#"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"#, "<time>"),
        (#"\d{4}-\d{2}-\d{2} \d{2}:\d{2}( UTC)?"#, "<time>"),
        (#"\b\d{2}-\d{2} \d{2}:\d{2}\b"#, "<mm-dd hh:mm>"),
        (#"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, "<uuid>"),
        (#"\b\d+(\.\d+)? ms\b"#, "<n> ms"),
        (#"\b\d+ bytes\b"#, "<n> bytes"),
        (#"\b\d+/\d+ left\b"#, "<n>/<n> left"),
    ]

    static func normalized(_ line: String) -> String {
        var line = line
        for (pattern, placeholder) in variable { line = line.replacing(try! Regex(pattern), with: placeholder) }
        while line.last == " " { line.removeLast() }
        return line
    }

    /// Whether `actual` is `expected`, where an expected line `…` matches any number of lines.
    static func matches(_ actual: ArraySlice<String>, _ expected: ArraySlice<String>) -> Bool {
        guard let first = expected.first else { return actual.isEmpty }
        if first == "…" {
            return actual.indices.map { actual[$0...] }.contains { matches($0, expected.dropFirst()) } || matches([], expected.dropFirst())
        }
        guard let line = actual.first, line == first else { return false }
        return matches(actual.dropFirst(), expected.dropFirst())
    }

    @Test func theREADMEsConsoleSessionPrintsWhatItShows() async throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let sessions = Self.sessions(in: readme)
        #expect(!sessions.isEmpty, "the README has no console session")
        for steps in sessions {
            try await Self.run(steps)
        }
    }

    private static func run(_ steps: [Step]) async throws {
        let folder = try TemporaryFolder()
        try await PicusSandbox.withRunning { sandbox in
            let apiURL = sandbox.url.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let scratch = folder.path("readme")
            func inserted(_ text: String) -> String {
                text.replacingOccurrences(of: "$PWD/.build/debug", with: Products.directory.path)
                    .replacingOccurrences(of: "http://127.0.0.1:8080", with: apiURL)
                    .replacingOccurrences(of: "/tmp/readme", with: scratch)
            }
            func restored(_ text: String) -> String {
                text.replacingOccurrences(of: scratch, with: "/tmp/readme")
                    .replacingOccurrences(of: apiURL, with: "http://127.0.0.1:8080")
            }
            // One shell for the block, so that its exports hold for the commands after them; a record
            // separator and the step's number before each command's output.
            var script = "exec 2>&1\nunset PICUS_JOURNAL_DB PICUS_API_URL PICUS_REFRESH_TOKEN PICUS_JOURNAL_POLICY\n"
            for (index, step) in steps.enumerated() {
                script += "printf '\\036%d\\n' \(index)\n\(inserted(step.command))\n"
            }
            let scriptPath = folder.path("session.sh")
            try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
            let result = try await runBinary(URL(fileURLWithPath: "/bin/sh"), [scriptPath], in: folder)
            var outputs = result.stdout.components(separatedBy: "\u{1E}").dropFirst().map { chunk -> [String] in
                var lines = chunk.components(separatedBy: "\n").dropFirst()  // the step's number
                if lines.last == "" { lines.removeLast() }
                return Array(lines)
            }
            #expect(outputs.count == steps.count, "the session stopped early: \(result.stdout)")
            outputs += Array(repeating: [], count: max(0, steps.count - outputs.count))
            for (step, output) in zip(steps, outputs) {
                let actual = output.map { normalized(restored($0)) }
                let expected = step.expected.map { normalized($0) }
                #expect(
                    matches(actual[...], expected[...]),
                    "`$ \(step.command)` printed:\n\(output.map(restored).joined(separator: "\n"))\nwhere the README shows:\n\(step.expected.joined(separator: "\n"))")
            }
        }
    }

    @Test func theComparisonFailsOnADifferentLineAndToleratesWhatVaries() {
        let shown = ["entry 4 (POST /v1/simulations): HTTP 503; queued for replay at 2026-12-06T19:42:21.579Z"]
        let printed = ["entry 4 (POST /v1/simulations): HTTP 503; queued for replay at 2027-01-01T00:00:00.001Z"]
        #expect(Self.matches(printed.map(Self.normalized)[...], shown.map(Self.normalized)[...]))
        let wrong = ["entry 5 (POST /v1/simulations): HTTP 503; queued for replay at 2027-01-01T00:00:00.001Z"]
        #expect(!Self.matches(wrong.map(Self.normalized)[...], shown.map(Self.normalized)[...]))
        #expect(Self.matches(["a", "b", "c"], ["a", "…", "c"]))
        #expect(!Self.matches(["a", "b"], ["a"]))
        let steps = Self.sessions(in: "text\n```console\n$ one\nout\n$ two\n```\n")
        #expect(steps.count == 1 && steps[0].count == 2 && steps[0][0].expected == ["out"] && steps[0][1].expected.isEmpty)
    }
}
