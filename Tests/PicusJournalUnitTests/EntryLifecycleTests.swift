import Foundation
@testable import PicusJournal
import PicusJournalTesting
import Testing

/// The entry state machine: one table, every state × event checked, and no state spelled in SQL
/// anywhere else.
struct EntryLifecycleTests {
    /// The diagram of the README and of ``EntryLifecycle``, written out independently of its table.
    private static let expected: [EntryEvent: (from: Set<EntryState>, to: EntryState)] = [
        .claim: ([.pending, .queued], .inFlight),
        .succeed: ([.inFlight], .succeeded), .fail: ([.inFlight], .failed),
        .retry: ([.inFlight], .queued), .exhaust: ([.inFlight], .expired),
        .releaseUnsent: ([.inFlight], .pending), .releaseSent: ([.inFlight], .queued),
        .recoverDelivered: ([.inFlight], .succeeded), .recoverForReplay: ([.inFlight], .queued),
        .recoverParked: ([.inFlight], .failed),
        .age: ([.pending, .queued], .expired), .cancel: ([.pending, .queued], .cancelled),
        .requeue: ([.pending, .queued, .failed, .expired, .cancelled], .queued),
    ]

    @Test(arguments: EntryEvent.allCases)
    func everyStateUnderEveryEventGoesWhereTheTableSaysOrIsRefused(event: EntryEvent) throws {
        let expected = try #require(Self.expected[event], "the test's diagram lacks \(event)")
        #expect(Set(EntryLifecycle.sources(of: event)) == expected.from)
        for state in EntryState.allCases {
            if expected.from.contains(state) {
                #expect(try EntryLifecycle.apply(event, to: state, entryID: 7) == expected.to, "\(state) –\(event)→")
            } else {
                #expect(throws: JournalError.self, "\(state) –\(event)→ must be refused") {
                    try EntryLifecycle.apply(event, to: state, entryID: 7)
                }
                #expect(EntryLifecycle.target(of: event, from: state) == nil)
            }
        }
    }

    @Test func aSucceededEntryIsLeftByNoEvent() {
        for event in EntryEvent.allCases {
            #expect(EntryLifecycle.target(of: event, from: .succeeded) == nil, "\(event)")
        }
    }

    @Test func theStoreRefusesAnOutcomeTheTableDoesNotAllow() async throws {
        let scratch = try TemporaryJournal()
        let journal = scratch.journal
        let entry = try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .inFlight,
                                                      leaseOwner: "me", createdAt: Date()))
        let attempt = NewAttempt(number: 1, startedAt: Date(), durationMs: 1, status: 200, outcome: .success, responseHeaders: [:])
        for illegal in [EntryState.pending, .cancelled, .inFlight] {
            await #expect(throws: JournalError.self, "\(illegal)") {
                try await journal.record(attempt, forEntry: entry.id, leaseOwner: "me", then: EntryTransition(state: illegal))
            }
        }
        let succeeded = try await journal.record(attempt, forEntry: entry.id, leaseOwner: "me", then: EntryTransition(state: .succeeded))
        #expect(succeeded.state == .succeeded)
        await #expect(throws: JournalError.self) { try await journal.cancel(entry: entry.id) }
        await #expect(throws: JournalError.self) { try await journal.requeue(entry: entry.id, policy: RetryPolicy()) }
        await #expect(throws: JournalError.self) {
            try await journal.insert(NewEntry(method: "GET", path: "/v1/agents", headers: [:], state: .succeeded, createdAt: Date()))
        }
    }

    @Test func noStateIsSpelledInSQLOutsideTheTable() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") && !$0.hasSuffix("EntryLifecycle.swift") }
        #expect(files.count > 50)
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for state in EntryState.allCases {
                #expect(!text.contains("'\(state.rawValue)'"), "\(file) spells '\(state.rawValue)'")
            }
        }
    }
}
