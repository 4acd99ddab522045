import Foundation
import Logging
import PicusJournal
import ServiceLifecycle

/// An agent's whole use of picus-journal: send, replay in the background, read the failure history,
/// and write a support ticket.
func runAgent(baseURL: URL, refreshToken: String, journalPath: String, ticketPath: String, logger: Logger) async throws {
    let journal = try Journal(path: journalPath)
    let client = JournaledClient(
        journal: journal, baseURL: baseURL,
        credentials: RefreshTokenCredentials(refreshToken: refreshToken, baseURL: baseURL))

    // Journaled before it leaves; a 503 or a 429 queues it for the replay engine.
    let delivery = try await client.send(.post("/v1/simulations", json: #"{"simulation_name":"nightly"}"#))
    if delivery.isSuccess {
        logger.info("created: \(String(decoding: delivery.response?.body ?? Data(), as: UTF8.self))")
    } else {
        logger.warning("\(delivery.summary)")  // entry 1 (POST /v1/simulations): HTTP 503 …; queued for replay at …
    }

    // The replay engine is a swift-service-lifecycle Service: on SIGTERM it claims nothing more,
    // lets the requests under way finish and be recorded, and returns.
    let engine = ReplayEngine(client: client)
    let group = ServiceGroup(services: [engine], gracefulShutdownSignals: [.sigterm], logger: logger)
    let replay = Task { try await group.run() }

    // Await the entry's final outcome instead of polling for it.
    let final = try await engine.finalOutcome(ofEntry: delivery.entry.id)
    logger.info("entry \(final.id) is \(final.state.rawValue) after \(final.attemptCount) attempts")
    await group.triggerGracefulShutdown()
    try await replay.value

    // The failure history: every entry that ever got a 4xx or 5xx in the last day.
    var query = JournalQuery(statuses: [.class(4), .class(5)], since: journal.configuration.clock.now().addingTimeInterval(-86_400))
    query.anyAttempt = true
    let page = try await journal.page(matching: query)
    let stats = try await journal.statistics(matching: query, by: .status)
    logger.info("\(page.entries.count) entries failed at least once; \(stats.groups.count) statuses")

    // A support ticket: the same query as a HAR file, written whole or not at all, secrets redacted.
    let exported = try await journal.export(matching: query, as: .har, toFile: ticketPath)
    logger.info("wrote \(exported.entries) entries to \(ticketPath)")
}
