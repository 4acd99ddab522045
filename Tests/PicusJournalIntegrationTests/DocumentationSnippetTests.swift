import Foundation
import Testing

/// Every Swift snippet of the DocC articles is the text of code that compiles: an example package's
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
        var files = [root.appendingPathComponent("Tests/PicusJournalIntegrationTests/DocumentationSnippets.swift")]
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

    @Test func everyArticleSnippetIsCompiledCode() throws {
        let docc = Self.root.appendingPathComponent("Sources/PicusJournal/PicusJournal.docc")
        let articles = try FileManager.default.contentsOfDirectory(atPath: docc.path).filter { $0.hasSuffix(".md") }
        let sources = try Self.sources()
        var checked = 0
        for article in articles {
            let text = try String(contentsOf: docc.appendingPathComponent(article), encoding: .utf8)
            for block in Self.swiftBlocks(in: text) {
                // A package manifest compiles only as a manifest: Examples/Agent/Package.swift is its real one.
                if block.contains(".package(") { continue }
                checked += 1
                #expect(sources.contains { Self.contains($0, block) }, "\(article): a snippet no compiled file holds:\n\(block)")
            }
        }
        #expect(checked >= 10)
    }
}
