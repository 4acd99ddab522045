import Foundation
import PicusJournal
import Testing
import PicusJournalTesting

struct RedactorTests {
    @Test func redactsAuthHeadersAndCookiesButKeepsTheScheme() {
        let headers = Redactor.headers([
            "Authorization": "Bearer eyJsecret", "Cookie": "a=b", "Set-Cookie": "c=d", "X-Api-Key": "k",
            "Content-Type": "application/json",
        ])
        #expect(headers["authorization"] == "Bearer <redacted>")
        #expect(headers["cookie"] == "<redacted>")
        #expect(headers["set-cookie"] == "<redacted>")
        #expect(headers["x-api-key"] == "<redacted>")
        #expect(headers["content-type"] == "application/json")
    }

    @Test func redactsSecretKeysAtAnyDepthOfAJSONBody() throws {
        let body = Data(#"{"refresh_token":"rt-1","nested":{"password":"p","keep":"v"},"list":[{"api_key":"k"}]}"#.utf8)
        let redacted = try #require(Redactor.jsonBody(body))
        let text = String(decoding: redacted, as: UTF8.self)
        #expect(!text.contains("rt-1"))
        #expect(!text.contains(#""p""#))
        #expect(!text.contains(#""k""#))
        #expect(text.contains(#""keep":"v""#))
    }

    @Test func leavesABodyWithoutSecretsAlone() {
        #expect(Redactor.jsonBody(Data(#"{"simulation_name":"x"}"#.utf8)) == nil)
        #expect(Redactor.body(Data("not json token=1".utf8)) == Data("not json token=1".utf8))
    }

    @Test func redactsSecretQueryParameters() {
        #expect(Redactor.query("limit=10&token=abc&api_key=k&offset=0") == "limit=10&token=<redacted>&api_key=<redacted>&offset=0")
    }

    @Test func scrubsEverySecretValueWhereverItStandsInAText() {
        let secret = "tok-\u{e9}-12345678"
        #expect(Redactor.scrub("Bearer \(secret)", secrets: [secret]) == "Bearer <redacted>")
        #expect(Redactor.scrub(secret, secrets: [secret]) == "<redacted>")
        #expect(Redactor.scrub("\(secret),\u{1F600}\(secret)", secrets: [secret]) == "<redacted>,\u{1F600}<redacted>")
        #expect(Redactor.scrub("tok-\u{e9}-1234567", secrets: [secret]) == "tok-\u{e9}-1234567", "a prefix is not the secret")
        #expect(Redactor.scrub("x-short", secrets: ["short"]) == "x-short", "values under 8 bytes are never scrubbed")
        #expect(Redactor.scrub("", secrets: [secret]).isEmpty)
    }
}
