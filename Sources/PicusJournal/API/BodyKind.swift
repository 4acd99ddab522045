/// What a response body turned out to be.
public enum BodyKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Valid JSON.
    case json
    /// UTF-8 text that is not JSON or HTML: a plain message, or JSON cut short.
    case text
    /// An HTML page, as a gateway or proxy answers.
    case html
    /// No body at all, or only white space.
    case empty
    /// Bytes that are not UTF-8 text.
    case binary
}
