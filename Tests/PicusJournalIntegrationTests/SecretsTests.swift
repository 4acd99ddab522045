import Foundation
import PicusJournal
import PicusSandbox
import Testing
import PicusJournalTesting
import PicusJournalTestSupport

struct SecretsTests {
    @Test func noTokenReachesTheDatabaseTheWALOrAnyOutput() async throws {
        let folder = try TemporaryFolder()
        let refreshToken = "rt-KNOWN-REFRESH-TOKEN-7f3a9c"
        var configuration = PicusSandbox.Configuration()
        configuration.refreshToken = refreshToken
        let path = folder.path("journal.sqlite")
        try await withSandbox(configuration) { sandbox in
            let journal = try Journal(path: path)
            let client = JournaledClient(
                journal: journal, baseURL: sandbox.url,
                credentials: RefreshTokenCredentials(refreshToken: refreshToken, baseURL: sandbox.url))
            _ = try await client.send(.get("/v1/agents"))
            _ = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"secrets"}"#))
            _ = try await client.send(.get("/v1/simulations?limit=1000"))
            await sandbox.addFault(SandboxFault(status: 503, count: 1))
            _ = try await client.send(.get("/v1/templates"))
            let accessTokens = await sandbox.issuedAccessTokens()
            await sandbox.expireAccessTokens()
            _ = try await client.send(.get("/v1/integrations"))
            let unauthenticated = JournaledClient(journal: journal, baseURL: sandbox.url)
            _ = try await unauthenticated.send(.post("/v1/auth/token", json: #"{"refresh_token":"\#(refreshToken)"}"#))
            let allTokens = accessTokens + (await sandbox.issuedAccessTokens())
            #expect(allTokens.count >= 2)

            // The journal is still open: recent pages live in the WAL.
            let bytes = try await journalBytes(at: path)
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            #expect(bytes.contains("/v1/agents"), "the scan must see the journal's content")
            for secret in [refreshToken] + allTokens {
                #expect(!bytes.contains(secret), "a token reached the journal files")
            }

            var outputs = [
                try await runCLI(["list", "--db", path, "--format", "json"], in: folder),
                try await runCLI(["list", "--db", path], in: folder),
            ]
            for entry in try await journal.entries(matching: JournalQuery()) {
                outputs.append(try await runCLI(["show", String(entry.id), "--db", path, "--format", "json"], in: folder))
                outputs.append(try await runCLI(["show", String(entry.id), "--db", path], in: folder))
            }
            for output in outputs {
                #expect(output.status == 0)
                for secret in [refreshToken] + allTokens {
                    #expect(!output.stdout.contains(secret) && !output.stderr.contains(secret))
                }
            }
        }
    }

    @Test func theCLINeverPrintsTheRefreshToken() async throws {
        let folder = try TemporaryFolder()
        let refreshToken = "rt-CLI-SECRET-91b2"
        var configuration = PicusSandbox.Configuration()
        configuration.refreshToken = refreshToken
        try await withSandbox(configuration) { sandbox in
            let path = folder.path("journal.sqlite")
            let environment = ["PICUS_REFRESH_TOKEN": refreshToken]
            let results = [
                try await runCLI(["request", "GET", "/v1/agents", "--db", path, "--base-url", sandbox.url.absoluteString], environment: environment, in: folder),
                try await runCLI(["request", "GET", "/v1/simulations?limit=1000", "--db", path, "--base-url", sandbox.url.absoluteString], environment: environment, in: folder),
            ]
            let tokens = await sandbox.issuedAccessTokens()
            for result in results {
                for secret in [refreshToken] + tokens {
                    #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
                }
            }
            let bytes = try await journalBytes(at: path)
            for secret in [refreshToken] + tokens { #expect(!bytes.contains(secret)) }
        }
    }
}
