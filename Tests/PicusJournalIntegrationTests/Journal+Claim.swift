import Foundation
@testable import PicusJournal

extension Journal {
    /// One claim in a transaction of its own, as a replayer in another process would make it.
    func claim(_ filter: ClaimFilter, limit: Int, owner: String, leaseDuration: Duration, now: Date) async throws -> [Entry] {
        try await write("replay from") { db in
            try Journal.claim(filter, limit: limit, owner: owner, leaseDuration: leaseDuration, now: now, in: db)
        }
    }
}
