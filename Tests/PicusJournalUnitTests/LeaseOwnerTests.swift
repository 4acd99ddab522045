import Foundation
@testable import PicusJournal
import Testing

/// The lease text's one writer and one parser agree, and a foreign text is nobody's.
struct LeaseOwnerTests {
    @Test func aLeaseNamesItsOwnerWhateverFollowsIt() throws {
        let owner = LeaseOwner(host: "agent-7.example", pid: 4242, instance: "ab12cd34")
        let lease = owner.newLease()
        #expect(lease.hasPrefix("agent-7.example:4242:ab12cd34/"))
        #expect(LeaseOwner(owning: lease) == owner)
        #expect(LeaseOwner(owning: lease + ".17") == owner, "a claim's per-entry lease")
        #expect(LeaseOwner(owning: owner.text) == owner)
        #expect(owner.newLease() != lease)
    }

    @Test(arguments: ["", "seed", "host:pid:x", "host:1", ":1:x", "host:1:", "a:b:c:d/t"])
    func aForeignLeaseHasNoOwner(text: String) {
        #expect(LeaseOwner(owning: text) == nil)
    }
}
