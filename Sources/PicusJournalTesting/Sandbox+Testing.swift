import PicusJournal
import PicusSandbox

extension PicusSandbox {
    /// Runs `body` with a sandbox listening on 127.0.0.1 on a free port, and stops it afterwards,
    /// whether `body` returns or throws.
    ///
    /// ```swift
    /// try await PicusSandbox.withRunning { sandbox in
    ///     await sandbox.addFault(SandboxFault(status: 503, count: 1, path: "/v1/simulations"))
    ///     let client = JournaledClient(journal: scratch.journal, baseURL: sandbox.url,
    ///                                  credentials: RefreshTokenCredentials(refreshToken: "sandbox-refresh-token", baseURL: sandbox.url))
    ///     // …
    /// }
    /// ```
    public static func withRunning<T>(
        _ configuration: Configuration = Configuration(), _ body: (PicusSandbox) async throws -> T
    ) async throws -> T {
        let sandbox = try await PicusSandbox.start(configuration: configuration)
        do {
            let result = try await body(sandbox)
            await sandbox.stop()
            return result
        } catch {
            await sandbox.stop()
            throw error
        }
    }
}

extension PicusSandbox {
    /// A client on `journal` signed in to this sandbox with its refresh token, reading the journal's clock.
    ///
    /// - Parameters:
    ///   - journal: Where the client journals its requests.
    ///   - refreshToken: The sandbox's refresh token; its default unless the sandbox was started with another.
    ///   - configuration: The client's configuration.
    public func client(
        on journal: Journal, refreshToken: String = "sandbox-refresh-token",
        configuration: JournaledClient.Configuration = JournaledClient.Configuration()
    ) -> JournaledClient {
        let credentials = RefreshTokenCredentials(refreshToken: refreshToken, baseURL: url)
        return JournaledClient(journal: journal, baseURL: url, credentials: credentials, configuration: configuration)
    }
}
