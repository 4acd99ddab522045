import Foundation
import PicusJournal
import Testing
import PicusJournalTesting

/// The fast reader of stored header objects says what `JSONDecoder` says, or nothing.
struct FlatJSONObjectTests {
    @Test(arguments: [
        [:],
        ["content-type": "application/json", "x-ratelimit-remaining": "0"],
        ["quote\"and\\slash/": "tab\there\r\nnew line", "control": "\u{01}\u{1F}\u{7F}"],
        ["unicode": "é 日本 🚀 \u{2028}", "": "empty name"],
        ["long": String(repeating: "x", count: 10_000)],
    ] as [[String: String]])
    func readsWhatTheJournalWritesAsJSONDecoderDoes(headers: [String: String]) throws {
        let text = JSONColumn.encode(headers)
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        #expect(FlatJSONObject.parse(text) == decoded)
        #expect(decoded == headers)
    }

    @Test(arguments: [
        #"{"a":"\u00e9\ud83d\ude80"}"#, #" { "a" : "b" , "c" : "d" } "#, #"{"a":"\/"}"#,
    ])
    func readsEscapesAndSpacingAsJSONDecoderDoes(text: String) throws {
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        #expect(FlatJSONObject.parse(text) == decoded)
    }

    @Test(arguments: [
        "", "{", "[]", #"{"a":1}"#, #"{"a":"b"} x"#, #"{"a":"\x"}"#, #"{"a":"\ud83d"}"#, #"{"a":"b",}"#,
        "{\"a\":\"line\nbreak\"}", #"{"a":{"b":"c"}}"#, #"{"a":"\u12"}"#, #"{"a" "b"}"#,
    ])
    func refusesWhatItDoesNotKnow(text: String) {
        #expect(FlatJSONObject.parse(text) == nil)
    }
}
