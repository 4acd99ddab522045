import Foundation
import HTTPTypes
import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// Every transport that builds here, by name, so that each test runs against each.
enum TransportUnderTest: String, CaseIterable, CustomTestStringConvertible {
    case asyncHTTPClient, urlSession

    var testDescription: String { rawValue }

    func make() -> any HTTPTransport {
        switch self {
        case .asyncHTTPClient: AsyncHTTPClientTransport.shared
        case .urlSession: URLSessionTransport()
        }
    }
}

/// The transport contract, against a server that misbehaves on purpose at the socket level.
@Suite(.timeLimit(.minutes(1)))
struct TransportConformanceTests {
    private func get(_ url: URL, _ transport: any HTTPTransport, options: TransportOptions = TransportOptions(timeout: .seconds(5)),
                     headers: HTTPFields = [:], method: HTTPRequest.Method = .get, body: Data? = nil) async throws -> TransportResponse {
        try await transport.send(HTTPRequest(method: method, url: url, headerFields: headers), body: body, options: options)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aRedirectIsTheAnswerAndTheTokenNeverLeavesTheOrigin(transport: TransportUnderTest) async throws {
        let elsewhere = try MisbehavingServer { _ in [MisbehavingServer.response("200 OK", body: "{}")] }
        let origin = try MisbehavingServer { request in
            let status = request.method == "POST" ? "307 Temporary Redirect" : "302 Found"
            return [MisbehavingServer.response(status, headers: ["Location": "\(elsewhere.url)/v1/stolen"])]
        }

        let redirected = try await get(origin.url.appendingPathComponent("v1/agents"), transport.make(),
                                headers: [.authorization: "Bearer secret-access-token"])
        let post = try await get(origin.url.appendingPathComponent("v1/simulations"), transport.make(),
                                 headers: [.authorization: "Bearer secret-access-token"], method: .post, body: Data("{}".utf8))

        #expect(redirected.status == 302)
        #expect(post.status == 307)
        #expect(redirected[header: "location"] == "\(elsewhere.url)/v1/stolen")
        #expect(elsewhere.received.isEmpty)
        #expect(origin.received.count == 2)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aServerThatDripsItsHeadEndsAtTheDeadline(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 200 OK\r\nX-Slow: "), .drip(byte: UInt8(ascii: "a"), every: .milliseconds(100))]
        }

        let error = await #expect(throws: TransportError.self) {
            _ = try await get(server.url.appendingPathComponent("v1/agents"), transport.make(),
                              options: TransportOptions(timeout: .seconds(1)))
        }

        #expect(error?.kind == .timeout)
        #expect(error?.isOutcomeUnknown == true)
    }

    /// A send whose task is cancelled before its read starts — a caller that gave up, or a deadline
    /// that passed while the read waited for a thread — ends at once, as cancelled: the transport
    /// ends its own wait, without counting on the task it never started to report back.
    @Test(arguments: TransportUnderTest.allCases)
    func aSendCancelledBeforeItsReadStartsEndsAtOnce(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 200 OK\r\nX-Slow: "), .drip(byte: UInt8(ascii: "a"), every: .milliseconds(100))]
        }
        let url = server.url.appendingPathComponent("v1/agents")
        let made = transport.make()
        let sending = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await made.send(HTTPRequest(method: .get, url: url, headerFields: [:]), body: nil,
                                       options: TransportOptions(timeout: .seconds(30)))
        }

        let error = await #expect(throws: TransportError.self) { try await sending.value }

        #expect(error?.kind == .cancelled)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aServerThatDripsItsBodyEndsAtTheDeadlineAndItsStatusDecides(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\nRetry-After: 7\r\n\r\n"),
             .drip(byte: UInt8(ascii: "x"), every: .milliseconds(100))]
        }

        // The deadline must outlast the head's arrival under a loaded test run (URLSession on Linux
        // missed 1 s in CI), and still end the body: it drips for hours.
        let response = try await get(server.url.appendingPathComponent("v1/agents"), transport.make(),
                                     options: TransportOptions(timeout: .seconds(4)))

        #expect(response.status == 503)
        #expect(response[header: "retry-after"] == "7")
        guard case .interrupted(let failure)? = response.bodyIssue else {
            Issue.record("the body should be marked interrupted, not \(String(describing: response.bodyIssue))")
            return
        }
        #expect(failure.kind == .timeout)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func anErrorBodyPastTheCapIsNotReadWhole(transport: TransportUnderTest) async throws {
        let size = 50 * 1024 * 1024
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 503 Service Unavailable\r\nContent-Length: \(size)\r\n\r\n"), .zeros(count: size)]
        }

        let response = try await get(server.url.appendingPathComponent("v1/agents"), transport.make(),
                                     options: TransportOptions(timeout: .seconds(30), maximumErrorBodySize: 4096))

        #expect(response.status == 503)
        #expect(response.body.count == 4096)
        #expect(response.bodySize == size)
        #expect(response.bodyIssue == .capped)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aSuccessBodyPastTheMaximumIsAClearIssue(transport: TransportUnderTest) async throws {
        let size = 8 * 1024 * 1024
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n"), .zeros(count: size)]
        }

        let response = try await get(server.url.appendingPathComponent("v1/agents"), transport.make(),
                                     options: TransportOptions(timeout: .seconds(30), maximumBodySize: 1024 * 1024))

        #expect(response.status == 200)
        #expect(response.bodyIssue == .tooLarge(limit: 1024 * 1024))
        #expect(response.body.count <= 1024 * 1024)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aBodyShorterThanItsLengthKeepsItsStatus(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer { _ in
            [.text("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\nX-Foo: \r\nContent-Type: application/json\r\n\r\n{\"message\":"), .close]
        }

        let response = try await get(server.url.appendingPathComponent("v1/agents"), transport.make())

        #expect(response.status == 503)
        guard case .interrupted(let failure)? = response.bodyIssue else {
            Issue.record("the body should be marked interrupted, not \(String(describing: response.bodyIssue))")
            return
        }
        #expect(failure.isOutcomeUnknown)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aBlankHeaderValueIsAnOrdinaryHeader(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer { _ in
            [MisbehavingServer.response("503 Service Unavailable", headers: ["X-Foo": "", "Retry-After": "3"], body: "down")]
        }

        let response = try await get(server.url.appendingPathComponent("v1/agents"), transport.make())

        #expect(response.status == 503)
        #expect(response.bodyIssue == nil)
        #expect(String(decoding: response.body, as: UTF8.self) == "down")
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aRefusedConnectionFailsBeforeTheRequestLeft(transport: TransportUnderTest) async throws {
        let closed = try ClosedPort()
        // A client of its own: the shared one may keep an idle connection to 127.0.0.1 on this port
        // from an earlier test's server, which a stopped server still serves — and never answers.
        let fresh = transport == .asyncHTTPClient ? AsyncHTTPClientTransport() : nil

        let error = await #expect(throws: TransportError.self) {
            _ = try await get(URL(string: "http://127.0.0.1:\(closed.port)/v1/agents")!, fresh ?? transport.make())
        }
        try await fresh?.shutdown()
        withExtendedLifetime(closed) {}

        #expect(error?.kind == .refused)
        #expect(error?.phase == .beforeSending)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aConnectionClosedAfterTheRequestIsAnUnknownOutcome(transport: TransportUnderTest) async throws {
        let server = try MisbehavingServer { _ in [.close] }

        let error = await #expect(throws: TransportError.self) {
            _ = try await get(server.url.appendingPathComponent("v1/simulations"), transport.make(), method: .post, body: Data("{}".utf8))
        }

        #expect(error?.isOutcomeUnknown == true)
        #expect(error.map { $0.isRetryableByDefault } == true)
        #expect(server.received.count >= 1)
    }

    @Test(arguments: TransportUnderTest.allCases)
    func aHeaderOfAMegabyteIsNeverAPermanentFailure(transport: TransportUnderTest) async throws {
        let huge = String(repeating: "a", count: 1024 * 1024)
        let server = try MisbehavingServer { _ in
            [MisbehavingServer.response("503 Service Unavailable", headers: ["X-Huge": huge], body: "down")]
        }

        do {
            let response = try await get(server.url.appendingPathComponent("v1/agents"), transport.make())
            #expect(response.status == 503)
        } catch let error as TransportError {
            #expect(error.isOutcomeUnknown)
            #expect(error.isRetryableByDefault)
        }
    }
}
