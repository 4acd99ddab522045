import Foundation
import PicusJournal
import Testing
import PicusJournalTesting

struct ErrorBodyTests {
    // Every example body of response-codes.txt and api-notes.md.

    @Test func decodesTheValidationErrorOfTheResponseCodesPage() {
        let body = ErrorBody.decode(Data(#"""
            {
                "message": "validation error",
                "errors": {
                    "parsing error": "strconv.ParseUint: parsing \"abc\": invalid syntax"
                }
            }
            """#.utf8))
        #expect(body.kind == .json)
        #expect(body.message == "validation error")
        #expect(body.errors == .object(["parsing error": .string(#"strconv.ParseUint: parsing "abc": invalid syntax"#)]))
    }

    @Test func decodesTheLimitValidationErrorOfTheAPINotes() {
        let body = ErrorBody.decode(Data(#"{"message":"validation error","errors":{"limit":"tag=max, param=50, given value=1000"}}"#.utf8))
        #expect(body.message == "validation error")
        #expect(body.errors == .object(["limit": .string("tag=max, param=50, given value=1000")]))
    }

    @Test(arguments: [
        "auth header is empty", "illegal base64 data at input byte 37", "unauthorized error", "not found error",
        "internal server error",
    ])
    func decodesTheMessageOnlyBodies(message: String) {
        let body = ErrorBody.decode(Data(#"{"message":"\#(message)"}"#.utf8))
        #expect(body.kind == .json)
        #expect(body.message == message)
        #expect(body.errorCode == nil)
        #expect(body.errors == nil)
    }

    @Test func decodesTheGenericEnvelopeWithErrorCodeAndErrorsObject() {
        let body = ErrorBody.decode(Data(#"{"message":"The error message","error_code":1001,"errors":{"error1":"message","error2":"message2"}}"#.utf8))
        #expect(body.message == "The error message")
        #expect(body.errorCode == "1001")
        #expect(body.errors == .object(["error1": .string("message"), "error2": .string("message2")]))
    }

    @Test func decodesErrorsSentAsAnArray() {
        let body = ErrorBody.decode(Data(#"{"message":"m","errors":["error1","error2"]}"#.utf8))
        #expect(body.errors == .array([.string("error1"), .string("error2")]))
    }

    @Test func decodesErrorsSentAsAStringHoldingAnArrayAsTheSwaggerShows() {
        let body = ErrorBody.decode(Data(#"{"message":"m","errors":"[\"error1\", \"error2\"]"}"#.utf8))
        #expect(body.errors == .array([.string("error1"), .string("error2")]))
    }

    @Test func keepsErrorsSentAsAPlainString() {
        let body = ErrorBody.decode(Data(#"{"message":"m","errors":"just one"}"#.utf8))
        #expect(body.errors == .string("just one"))
    }

    @Test func decodesCodeAndSuccessFields() {
        let body = ErrorBody.decode(Data(#"{"code":400,"message":"bad request","success":false}"#.utf8))
        #expect(body.code == 400)
        #expect(body.success == false)
        #expect(body.message == "bad request")
    }

    @Test func keepsAStringErrorCode() {
        let body = ErrorBody.decode(Data(#"{"message":"exists","error_code":"simulation_already_exist"}"#.utf8))
        #expect(body.errorCode == "simulation_already_exist")
    }

    @Test func classifiesAGatewayHTMLPageAndReadsItsTitle() {
        let html = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body><h1>504 Gateway Time-out</h1></body></html>"
        let body = ErrorBody.decode(Data(html.utf8), contentType: "text/html")
        #expect(body.kind == .html)
        #expect(body.message == "504 Gateway Time-out")
        #expect(body.raw == Data(html.utf8))
    }

    @Test func recognisesHTMLWithoutAContentType() {
        #expect(ErrorBody.decode(Data("<!DOCTYPE html><html><body>down</body></html>".utf8)).kind == .html)
    }

    @Test(arguments: ["", "   \n", "\r\n"])
    func classifiesAnEmptyBody(text: String) {
        let body = ErrorBody.decode(Data(text.utf8))
        #expect(body.kind == .empty)
        #expect(body.message == nil)
    }

    @Test func classifiesBinaryBytes() {
        let body = ErrorBody.decode(Data([0x00, 0x01, 0xFF, 0xFE, 0x89, 0x50, 0x4E, 0x47]))
        #expect(body.kind == .binary)
        #expect(body.raw.count == 8)
    }

    @Test func classifiesInvalidUTF8AsBinary() {
        let body = ErrorBody.decode(Data([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D]))
        #expect(body.kind == .binary)
    }

    @Test func keepsTruncatedJSONAsText() {
        let body = ErrorBody.decode(Data(#"{"message":"validation error","errors":{"limit":"tag="#.utf8))
        #expect(body.kind == .text)
        #expect(body.message?.hasPrefix(#"{"message":"validation error""#) == true)
    }

    @Test func keepsPlainTextAndItsFirstLine() {
        let body = ErrorBody.decode(Data("upstream connect error\nreset reason: overflow".utf8))
        #expect(body.kind == .text)
        #expect(body.message == "upstream connect error")
    }

    @Test func capsAVeryLargeBodyAndRemembersItsSize() {
        let large = Data(repeating: UInt8(ascii: "a"), count: 10 * 1024 * 1024)
        let body = ErrorBody.decode(large, cap: 1024)
        #expect(body.raw.count == 1024)
        #expect(body.size == large.count)
        #expect(body.isTruncated)
        #expect(body.kind == .text)
    }

    @Test func decodesALargeJSONBodyButKeepsOnlyTheCap() {
        let padding = String(repeating: "x", count: 100_000)
        let body = ErrorBody.decode(Data(#"{"message":"big","errors":{"pad":"\#(padding)"}}"#.utf8), cap: 100)
        #expect(body.kind == .json)
        #expect(body.message == "big")
        #expect(body.raw.count == 100)
    }

    @Test func aUTF8CharacterCutByThePrefixIsNotBinary() {
        let text = String(repeating: "é", count: 10_000)
        #expect(ErrorBody.decode(Data(text.utf8)).kind == .text)
    }

    @Test func nonObjectJSONIsKeptAsDetails() {
        let body = ErrorBody.decode(Data(#"["a","b"]"#.utf8))
        #expect(body.kind == .json)
        #expect(body.errors == .array([.string("a"), .string("b")]))
    }
}
