import Foundation
import PicusJournal
import PicusSandbox
import Synchronization
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

struct CredentialsTests {
    @Test(arguments: [false, true])
    func readsExpireAtInMillisecondsOrSeconds(inSeconds: Bool) async throws {
        var configuration = PicusSandbox.Configuration()
        configuration.expireAtInSeconds = inSeconds
        try await withSandbox(configuration) { sandbox in
            let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)

            let first = try await credentials.accessToken()
            let second = try await credentials.accessToken()

            #expect(first == second)
            #expect(await credentials.exchangeCount == 1)
        }
    }

    @Test func refreshesAheadOfExpiry() async throws {
        try await withSandbox { sandbox in
            let clock = ManualClock(Date())
            let credentials = RefreshTokenCredentials(
                refreshToken: "sandbox-refresh-token", baseURL: sandbox.url, refreshMargin: .seconds(120))
            let exchange = TokenExchange(clock: clock.journalClock)

            let first = try await credentials.accessToken(through: exchange)
            clock.advance(by: .seconds(7200 - 121))
            let stillValid = try await credentials.accessToken(through: exchange)
            // Inside the margin however long the exchange took (the clock started before it).
            clock.advance(by: .seconds(200))
            let refreshed = try await credentials.accessToken(through: exchange)

            #expect(first == stillValid)
            #expect(refreshed != first)
            #expect(await credentials.exchangeCount == 2)
        }
    }

    @Test func concurrentCallersShareOneExchange() async throws {
        try await withSandbox { sandbox in
            let credentials = RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url)

            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 { group.addTask { try await credentials.accessToken() } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }

            #expect(tokens.count == 1)
            #expect(await credentials.exchangeCount == 1)
        }
    }

    @Test func aRefusedRefreshTokenSaysSo() async throws {
        try await withSandbox { sandbox in
            let credentials = RefreshTokenCredentials(refreshToken: "wrong", baseURL: sandbox.url)

            let error = await #expect(throws: CredentialError.self) { try await credentials.accessToken() }

            #expect(error?.status == 401)
            #expect(error?.body?.message == "unauthorized error")
            #expect(error?.isRetryable == false)
        }
    }
}
