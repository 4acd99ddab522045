import Foundation
import Testing

/// Every Swift snippet of the README, `docs/` and the DocC articles is the text of code that compiles: an example package's
/// file under `Examples/`, or `DocumentationSnippets.swift` in this target. A snippet edited in an
/// article but not in its file (or the reverse) fails here.
struct DocumentationSnippetTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The ```swift blocks of a Markdown file, each with its lines' common indentation removed.
    private static func swiftBlocks(in text: String) -> [String] {
        var blocks: [String] = []
        var current: [String]?
        for line in text.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed == "```swift" {
                current = []
            } else if current != nil, trimmed == "```" {
                blocks.append(dedented(current!))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    private static func dedented(_ lines: [String]) -> String {
        let indents = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }
        let indent = indents.min() ?? 0
        return lines.map { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "" : String($0.dropFirst(indent)) }.joined(separator: "\n")
    }

    /// The compiled sources, each file with every line's indentation removed relative to the block
    /// it may hold: compared line by line with trailing blank lines ignored.
    private static func sources() throws -> [String] {
        var files = [
            root.appendingPathComponent("Tests/PicusJournalIntegrationTests/DocumentationSnippets.swift"),
            root.appendingPathComponent("Tests/PicusJournalFleetTests/DocumentationSnippets+Fleet.swift"),
            // docs/testing.md shows this test's body: an agent's test, as it runs here.
            root.appendingPathComponent("Tests/PicusJournalIntegrationTests/TestingLibraryTests.swift"),
        ]
        let examples = root.appendingPathComponent("Examples")
        if let walk = FileManager.default.enumerator(at: examples, includingPropertiesForKeys: nil) {
            for case let url as URL in walk where url.pathExtension == "swift" && !url.path.contains("/.build") { files.append(url) }
        }
        return try files.map { try String(contentsOf: $0, encoding: .utf8) }
    }

    private static func contains(_ source: String, _ block: String) -> Bool {
        let wanted = block.components(separatedBy: "\n")
        let lines = source.components(separatedBy: "\n")
        guard let first = wanted.first(where: { !$0.isEmpty }) else { return true }
        for start in lines.indices where lines[start].hasSuffix(first) {
            let indent = lines[start].count - first.count
            guard lines[start].prefix(indent).allSatisfy({ $0 == " " }) else { continue }
            let window = lines[start..<min(lines.count, start + wanted.count)]
            let undone = window.map { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "" : String($0.dropFirst(indent)) }
            if undone == wanted { return true }
        }
        return false
    }

    /// The Markdown files whose Swift snippets are held to code: the README, `docs/` and the DocC articles.
    private static func documents() throws -> [URL] {
        var documents = [root.appendingPathComponent("README.md")]
        for folder in ["docs", "Sources/PicusJournal/PicusJournal.docc"] {
            let url = root.appendingPathComponent(folder)
            documents += try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".md") }.sorted()
                .map { url.appendingPathComponent($0) }
        }
        return documents
    }

    @Test func everySnippetIsCompiledCode() throws {
        let sources = try Self.sources()
        var checked: [String: Int] = [:]
        for document in try Self.documents() {
            let text = try String(contentsOf: document, encoding: .utf8)
            let name = document.path.replacingOccurrences(of: Self.root.path + "/", with: "")
            for block in Self.swiftBlocks(in: text) {
                checked[name, default: 0] += 1
                // A manifest's snippet is found in an example's Package.swift, like any other.
                #expect(sources.contains { Self.contains($0, block) }, "\(name): a snippet no compiled file holds:\n\(block)")
            }
        }
        #expect(checked.values.reduce(0, +) >= 12)
        #expect(checked["README.md", default: 0] >= 2, "the README's Library example and manifest are checked")
    }

    /// The README's Library example is an example's source file, whole.
    @Test func theREADMEsLibraryExampleIsAnExampleFile() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let agent = try String(contentsOf: Self.root.appendingPathComponent("Examples/Agent/Sources/Agent/Agent.swift"), encoding: .utf8)
        let whole = agent.trimmingCharacters(in: .newlines)
        #expect(Self.swiftBlocks(in: readme).contains { $0.trimmingCharacters(in: .newlines) == whole })
    }
}
