import Foundation
import GRDB
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

/// Regression tests for the core promises that broke at the edges (issue 19): secrets in any
/// spelling, a token cut by the cap, a NUL in a message, outcomes of a sender that lost its lease,
/// pacing after a window reset, `X-Ratelimit-Reset` as a delta, readers and writers on a full disk.
struct PromisesAtTheEdgesTests {
    static let refreshToken = "eyJhbGciOi/REFRESHSECRETzz9/x+y="
    static let accessToken = "acc/ACCESSTOKENhostile123/zz"

    /// Every spelling of `secret` that a server could use to echo it.
    static func spellings(of secret: String) -> [String] {
        let unicodeEscaped = secret.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined()
        let upperUnicode = secret.unicodeScalars.map { String(format: "\\u%04X", $0.value) }.joined()
        let mixed = secret.unicodeScalars.enumerated().map { index, scalar in
            index % 2 == 0 ? String(format: "\\u%04x", scalar.value) : (scalar == "/" ? "\\/" : String(scalar))
        }.joined()
        return [
            secret,
            secret.replacingOccurrences(of: "/", with: "\\/"),
            unicodeEscaped, upperUnicode, mixed,
            secret.replacingOccurrences(of: "/", with: "\\\\\\/"),
            secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret,
            secret.unicodeScalars.map { "&#\($0.value);" }.joined(),
            secret.replacingOccurrences(of: "/", with: "&#x2F;").replacingOccurrences(of: "+", with: "&plus;"),
        ]
    }

    @Test func escapedSecretsAreScrubbedInEverySpelling() {
        for secret in [Self.refreshToken, Self.accessToken] {
            for spelling in Self.spellings(of: secret) {
                let body = Data(#"{"message":"invalid refresh token \#(spelling) (see docs)","errors":{"token":"\#(spelling)"}}"#.utf8)
                let scrubbed = Redactor.scrub(body, secrets: [secret])
                let text = String(decoding: scrubbed, as: UTF8.self)
                #expect(!text.contains("REFRESHSECRET") && !text.contains("ACCESSTOKEN"), "\(spelling) survived: \(text)")
                // Still JSON, and what it says no longer holds the secret.
                let decoded = ErrorBody.decode(scrubbed)
                #expect(decoded.kind == .json, "\(text)")
                #expect(decoded.message?.contains(Redactor.placeholder) == true)
            }
        }
    }

    @Test func aTokenCutByTheCapOrADroppedConnectionIsNotKeptInPart() {
        let secret = Self.accessToken
        for spelling in Self.spellings(of: secret) {
            for keep in [6, spelling.utf8.count / 2, spelling.utf8.count - 1] {
                let body = Data(#"{"message":"echo \#(spelling.utf8.prefix(keep).map { String(UnicodeScalar($0)) }.joined())"#.utf8)
                let scrubbed = String(decoding: Redactor.scrub(body, secrets: [secret], isCut: true), as: UTF8.self)
                #expect(!scrubbed.contains("ACCESS"), "kept part of \(spelling): \(scrubbed)")
            }
        }
        // A body that was not cut keeps text that merely starts like a secret.
        let whole = String(decoding: Redactor.scrub(Data("ends with acc/ACCE".utf8), secrets: [secret]), as: UTF8.self)
        #expect(whole == "ends with acc/ACCE")
    }

    @Test func aTokenStraddlingTheErrorBodyCapIsScrubbedWholeBeforeTheCap() async throws {
        let folder = try TemporaryFolder()
        let cap = ErrorBody.defaultCap
        // The token starts 18 characters before the cap.
        let padding = String(repeating: "p", count: cap - 18 - #"{"message":""#.utf8.count)
        let body = #"{"message":"\#(padding)\#(Self.accessToken.replacingOccurrences(of: "/", with: "\\/")) and more"}"#
        let server = try MisbehavingServer { request in
            if request.target.hasSuffix("/v1/auth/token") {
                return [MisbehavingServer.response("200 OK", headers: ["Content-Type": "application/json"],
                                                   body: #"{"token":"\#(Self.accessToken)","expire_at":4102444800}"#)]
            }
            return [MisbehavingServer.response("422 Unprocessable Entity", headers: ["Content-Type": "application/json"], body: body)]
        }
        defer { server.stop() }
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let client = JournaledClient(journal: journal, baseURL: server.url,
                                     credentials: RefreshTokenCredentials(refreshToken: Self.refreshToken, baseURL: server.url))
        let delivery = try await client.send(.get("/v1/agents"))
        #expect(delivery.entry.lastStatus == 422)
        let raw = try #require(delivery.error?.raw)
        #expect(raw.count <= cap)
        let bytes = try await journalBytes(at: folder.path("journal.sqlite"))
        #expect(!bytes.contains("ACCESSTOKEN") && !bytes.contains("ACCESS"), "a part of the token was kept")
        #expect(bytes.contains(String(padding.prefix(64))))
    }

    @Test func aTokenExchangeThatEchoesTheRefreshTokenEscapedLeaksNothing() async throws {
        let folder = try TemporaryFolder()
        let escaped = Self.refreshToken.replacingOccurrences(of: "/", with: "\\/")
        let server = try MisbehavingServer { _ in
            [MisbehavingServer.response("401 Unauthorized", headers: ["Content-Type": "application/json"],
                                        body: #"{"message":"invalid refresh token \#(escaped)","errors":["\#(escaped)"]}"#)]
        }
        defer { server.stop() }
        let db = folder.path("journal.sqlite")
        let environment = ["PICUS_REFRESH_TOKEN": Self.refreshToken]
        let request = try await runCLI(["request", "GET", "/v1/agents", "--db", db, "--base-url", server.url.absoluteString],
                                       environment: environment, in: folder)
        #expect(request.status == 1)
        #expect(request.stderr.contains("token exchange"), "\(request.stderr)")
        var outputs = [request.stdout + request.stderr]
        for arguments in [["list", "--format", "json"], ["show", "1", "--format", "json"], ["export", "--format", "csv"],
                          ["export", "--format", "ndjson"], ["export", "--format", "har"]] {
            let result = try await runCLI(arguments + ["--db", db], in: folder)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs.append(result.stdout + result.stderr)
        }
        let bytes = try await journalBytes(at: db)
        outputs.append(String(decoding: bytes, as: UTF8.self))
        for output in outputs {
            #expect(!output.contains("REFRESHSECRET"), "the refresh token escaped: \(output.prefix(400))")
        }
        #expect(outputs[1].contains("invalid refresh token"))
    }

    @Test func anAccessTokenEchoedWithEscapesInA422IsNeverStoredOrPrinted() async throws {
        let folder = try TemporaryFolder()
        let unicode = Self.accessToken.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined()
        let slashes = Self.accessToken.replacingOccurrences(of: "/", with: "\\/")
        let server = try MisbehavingServer { request in
            if request.target.hasSuffix("/v1/auth/token") {
                return [MisbehavingServer.response("200 OK", headers: ["Content-Type": "application/json"],
                                                   body: #"{"token":"\#(Self.accessToken)","expire_at":4102444800}"#)]
            }
            return [MisbehavingServer.response("422 Unprocessable Entity", headers: ["Content-Type": "application/json"],
                                               body: #"{"message":"bad token \#(slashes)","errors":{"auth":"\#(unicode)"}}"#)]
        }
        defer { server.stop() }
        let db = folder.path("journal.sqlite")
        let request = try await runCLI(["request", "GET", "/v1/agents", "--db", db, "--base-url", server.url.absoluteString],
                                       environment: ["PICUS_REFRESH_TOKEN": Self.refreshToken], in: folder)
        #expect(request.status == 1)
        var outputs = [request.stdout + request.stderr]
        for arguments in [["show", "1", "--format", "json"], ["show", "1"], ["export", "--format", "ndjson"], ["export", "--format", "har"]] {
            let result = try await runCLI(arguments + ["--db", db], in: folder)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs.append(result.stdout)
        }
        outputs.append(String(decoding: try await journalBytes(at: db), as: UTF8.self))
        for output in outputs {
            #expect(!output.contains("ACCESSTOKEN"), "the access token escaped: \(output.prefix(400))")
            #expect(!output.contains("\\u0041\\u0043\\u0043"), "the access token escaped as \\u: \(output.prefix(400))")
        }
        #expect(outputs[1].contains("bad token"))
    }

    @Test func aNULInsideAnErrorMessageKeepsWhatFollowsIt() async throws {
        let folder = try TemporaryFolder()
        let server = try MisbehavingServer { _ in
            [MisbehavingServer.response("422 Unprocessable Entity", headers: ["Content-Type": "application/json"],
                                        body: #"{"message":"before\u0000after the NUL","error_code":"E\u00001"}"#)]
        }
        defer { server.stop() }
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let client = JournaledClient(journal: journal, baseURL: server.url)
        let delivery = try await client.send(.get("/v1/agents"))
        let stored = try #require(try await journal.entry(id: delivery.entry.id))
        #expect(stored.lastErrorMessage?.hasSuffix("after the NUL") == true, "\(stored.lastErrorMessage ?? "nil")")
        let attempts = try await journal.attempts(ofEntry: delivery.entry.id)
        #expect(attempts.last?.error?.message?.hasSuffix("after the NUL") == true)
    }

    @Test func aSenderWhoseLeaseWasTakenRecordsNothingOverTheNewHolder() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let server = try MisbehavingServer { _ in [MisbehavingServer.response("201 Created", body: "{}")] }
        defer { server.stop() }
        let client = JournaledClient(journal: journal, baseURL: server.url)
        let entry = try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"late"}"#))
        // The first sender claims it, then stops past its lease; a second takes it back and records a 201.
        let now = Date()
        let first = try #require(try await journal.claim(ClaimFilter(), limit: 1, owner: "first", leaseDuration: .seconds(1), now: now).first)
        #expect(try await journal.recoverAbandoned(now: now.addingTimeInterval(5), replay: true) == [entry.id])
        let second = try #require(try await journal.claim(ClaimFilter(), limit: 1, owner: "second", leaseDuration: .seconds(30),
                                                         now: now.addingTimeInterval(5)).first)
        #expect(first.id == entry.id && second.id == entry.id)
        _ = try await journal.record(NewAttempt(number: 1, startedAt: now, durationMs: 1, status: 201, outcome: .success, responseHeaders: [:]),
                                     forEntry: entry.id, leaseOwner: "second", then: EntryTransition(state: .succeeded))
        // The first resumes with a 503 and its Retry-After: dropped, out of order, and no hold for everyone.
        var late = NewAttempt(number: 1, startedAt: now, durationMs: 1, status: 503, outcome: .retryable, responseHeaders: [:])
        late.serverNotBefore = now.addingTimeInterval(600)
        let after = try await journal.record(late, forEntry: entry.id, leaseOwner: "first",
                                             then: EntryTransition(state: .queued, nextAttemptAt: now.addingTimeInterval(600)))
        #expect(after.state == .succeeded)
        #expect(try await journal.attempts(ofEntry: entry.id).compactMap(\.status) == [201])
        #expect(try await journal.holds(at: now).isEmpty)

        // Reversed: a failure recorded by the holder is not flipped by a late 201.
        let other = try await client.enqueue(.post("/v1/simulations", json: #"{"simulation_name":"late-2"}"#))
        let later = Date()
        _ = try await journal.claim(ClaimFilter(id: other.id), limit: 1, owner: "first", leaseDuration: .seconds(1), now: later)
        _ = try await journal.recoverAbandoned(now: later.addingTimeInterval(5), replay: true)
        _ = try await journal.claim(ClaimFilter(id: other.id), limit: 1, owner: "second", leaseDuration: .seconds(30), now: later.addingTimeInterval(5))
        _ = try await journal.record(NewAttempt(number: 1, startedAt: later, durationMs: 1, status: 422, outcome: .permanent, responseHeaders: [:]),
                                     forEntry: other.id, leaseOwner: "second", then: EntryTransition(state: .failed))
        let flipped = try await journal.record(NewAttempt(number: 1, startedAt: later, durationMs: 1, status: 201, outcome: .success, responseHeaders: [:]),
                                               forEntry: other.id, leaseOwner: "first", then: EntryTransition(state: .succeeded))
        #expect(flipped.state == .failed)
        #expect(try await journal.attempts(ofEntry: other.id).compactMap(\.status) == [422])
    }

    @Test func afterAWindowResetAClaimTakesNoMoreThanTheLastKnownLimit() async throws {
        let folder = try TemporaryFolder()
        let journal = try Journal(path: folder.path("journal.sqlite"))
        let server = try MisbehavingServer { _ in [] }
        defer { server.stop() }
        let client = JournaledClient(journal: journal, baseURL: server.url)
        var entries: [Entry] = []
        for _ in 0..<12 { entries.append(try await client.enqueue(.get("/v1/agents"))) }
        let now = Date()
        let endpoint = entries[0].endpoint
        // The last answer said: 5 per window, and that window has reset.
        try await journal.write("test") { db in
            try db.execute(sql: "INSERT INTO budget (key, remaining, resetAt, seenAt, windowLimit) VALUES (?, 0, ?, ?, 5)",
                           arguments: [endpoint, now.addingTimeInterval(-1).unixMilliseconds, now.addingTimeInterval(-3).unixMilliseconds])
        }
        let claimed = try await journal.claim(ClaimFilter(), limit: 8, owner: "replayer", leaseDuration: .seconds(30), now: now)
        #expect(claimed.count == 5)
        // Those five are in flight: the window allows no more until an answer says so.
        #expect(try await journal.claim(ClaimFilter(), limit: 8, owner: "other", leaseDuration: .seconds(30), now: now).isEmpty)
    }

    @Test func aRateLimitResetGivenAsADeltaIsReadAsSecondsFromNow() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(ServerTiming.rateLimitResetDate("60", now: now) == now.addingTimeInterval(60))
        #expect(ServerTiming.rateLimitResetDate("1800000060", now: now) == now.addingTimeInterval(60))
        #expect(ServerTiming.rateLimitResetDate("1800000060000", now: now) == now.addingTimeInterval(60))
        let policy = RetryPolicy()
        let asked = policy.earliestRetry(status: 429, headers: ["x-ratelimit-reset": "60"], now: now)
        #expect(asked == now.addingTimeInterval(60))
    }
}

/// A replayer whose journal file is replaced under it stops and says so; `/healthz` tells the truth.
struct ReplacedJournalTests {
    @Test func aReplayerNoticesItsJournalWasReplaced() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path("journal.sqlite")
        let server = try MisbehavingServer { _ in [MisbehavingServer.response("200 OK", body: "{}")] }
        defer { server.stop() }
        let client = JournaledClient(journal: try Journal(path: path), baseURL: server.url)
        var configuration = ReplayEngine.Configuration()
        configuration.pollInterval = .milliseconds(20)
        let engine = ReplayEngine(client: client, configuration: configuration)
        // Another journal takes the name.
        let other = try Journal(path: folder.path("other.sqlite"))
        try other.close()
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: folder.path("other.sqlite"), toPath: path)
        let health = await engine.health()
        #expect(!health.isHealthy)
        #expect(health.reason?.contains("was replaced") == true, "\(health.reason ?? "nil")")
        await #expect(throws: JournalError.self) { try await engine.run(onReplay: { _ in }) }
    }
}

/// One journal file reached through two hard-linked names shares one WAL and one owner folder.
struct HardLinkedJournalTests {
    @Test func twoHardLinkedNamesOpenOneJournalByOneName() async throws {
        let folder = try TemporaryFolder()
        let first = folder.path("a-journal.sqlite")
        let second = folder.path("b-journal.sqlite")
        try Journal(path: first).close()
        try FileManager.default.linkItem(atPath: first, toPath: second)
        let viaSecond = try Journal(path: second)
        #expect(viaSecond.path == first)
        try viaSecond.close()

        let elsewhere = try TemporaryFolder()
        try FileManager.default.linkItem(atPath: first, toPath: elsewhere.path("c.sqlite"))
        #expect(throws: JournalError.self) { try Journal(path: second) }
    }
}
