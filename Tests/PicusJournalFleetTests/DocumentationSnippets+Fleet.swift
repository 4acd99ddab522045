// docs/fleet.md's Swift block, verbatim, as the body of a private function that is never called: this
// target compiles it against the real PicusJournalFleet API. DocumentationSnippetTests holds the
// document to it.

import Foundation
import Logging
import PicusJournal
import PicusJournalFleet
import ServiceLifecycle
import UnixSignals

// docs/fleet.md: let ship = FleetShipService(journal: journal, to: try FleetLocation("postgres://picus@db.internal/fleet"), as: "site-a")
private func fleetInAnAgentSnippet(journal: Journal, replayEngine: ReplayEngine, logger: Logger) async throws {
    let ship = FleetShipService(journal: journal, to: try FleetLocation("postgres://picus@db.internal/fleet"), as: "site-a")
    let group = ServiceGroup(services: [replayEngine, ship], gracefulShutdownSignals: [.sigterm], logger: logger)
    try await group.run()

    // Or read the fleet: the same JournalQuery, the same Entry.
    let store = try await FleetStore.connect(to: try FleetLocation("postgres://picus@db.internal/fleet"))
    try await store.checkSchema()
    var query = JournalQuery(statuses: [.code(429)], since: Date().addingTimeInterval(-86_400))
    query.agents = ["site-a", "site-b"]
    let page = try await store.page(matching: query)
    await store.close()
    _ = page
}
