import Foundation

/// An event in an entry's life. Every change of an entry's state is one of these, applied through
/// ``EntryLifecycle``.
package enum EntryEvent: String, CaseIterable, Sendable {
    /// A sender leases a waiting entry to send it.
    case claim
    /// The server answered 2xx.
    case succeed
    /// The server refused it for good, or the policy says not to replay it.
    case fail
    /// The server said "not now": it waits for replay.
    case retry
    /// Its retry budget or age ran out on this attempt.
    case exhaust
    /// A claimed entry given back unsent: it waits again as it did, never sent.
    case releaseUnsent
    /// A claimed entry given back unsent: it waits again as it did, sent before.
    case releaseSent
    /// Its sender is gone, and left word that the server answered 2xx.
    case recoverDelivered
    /// Its sender is gone without an answer: it is replayed with the same Idempotency-Key.
    case recoverForReplay
    /// Its sender is gone without an answer, and it is never replayed: an operator decides.
    case recoverParked
    /// It waited past the policy's maximum age without being sent.
    case age
    /// An operator cancelled it.
    case cancel
    /// An operator put it back in the queue, due now.
    case requeue
}

/// The entry state machine: from which states each ``EntryEvent`` may happen, and where it leads.
///
/// The one place that says so. The store's statements take their states from here — as bound values,
/// or in a list spelled by ``sqlList(_:)`` — and every state change is checked against it: an event
/// from a state it does not leave is refused with ``JournalError/Code/invalidTransition``.
///
/// ```
/// pending ─claim→ inFlight ─succeed→ succeeded
/// queued  ─claim→ inFlight ─fail→ failed        ─requeue→ queued
///                          ─retry→ queued       ─cancel→ cancelled (from pending or queued)
///                          ─exhaust→ expired    ─age→ expired (from pending or queued)
///                          ─release…→ pending | queued
///                          ─recover…→ succeeded | queued | failed
/// ```
package enum EntryLifecycle {
    /// An event's edges: the states it leaves and the state it leads to.
    package struct Edge: Sendable, Hashable {
        /// The states it leaves, in the order ``sqlList(_:)`` spells them.
        package let from: [EntryState]
        package let to: EntryState
    }

    /// States an entry may be written in: waiting (`pending`, or `queued` behind a hold) or, for a
    /// live send, already leased to its sender (`inFlight`).
    package static let initialStates: Set<EntryState> = [.pending, .queued, .inFlight]

    /// The transition table, one row per event: a `switch`, so the compiler holds it total.
    package static func edge(_ event: EntryEvent) -> Edge {
        switch event {
        // Spelled as the partial index `entry_due` (0005_due.sql) spells it, which SQLite needs to use it.
        case .claim: Edge(from: [.queued, .pending], to: .inFlight)
        case .succeed: Edge(from: [.inFlight], to: .succeeded)
        case .fail: Edge(from: [.inFlight], to: .failed)
        case .retry: Edge(from: [.inFlight], to: .queued)
        case .exhaust: Edge(from: [.inFlight], to: .expired)
        case .releaseUnsent: Edge(from: [.inFlight], to: .pending)
        case .releaseSent: Edge(from: [.inFlight], to: .queued)
        case .recoverDelivered: Edge(from: [.inFlight], to: .succeeded)
        case .recoverForReplay: Edge(from: [.inFlight], to: .queued)
        case .recoverParked: Edge(from: [.inFlight], to: .failed)
        case .age: Edge(from: [.pending, .queued], to: .expired)
        case .cancel: Edge(from: [.pending, .queued], to: .cancelled)
        case .requeue: Edge(from: [.pending, .queued, .failed, .expired, .cancelled], to: .queued)
        }
    }

    /// Where `event` leads from `state`, or nil when it may not happen there.
    package static func target(of event: EntryEvent, from state: EntryState) -> EntryState? {
        let edge = edge(event)
        return edge.from.contains(state) ? edge.to : nil
    }

    /// Where `event` leads from `state`.
    ///
    /// - Throws: ``JournalError`` `invalidTransition` when the event may not happen in that state.
    package static func apply(_ event: EntryEvent, to state: EntryState, entryID: Int64?) throws -> EntryState {
        guard let next = target(of: event, from: state) else {
            let what = entryID.map { "entry \($0)" } ?? "an entry"
            throw JournalError(.invalidTransition, "\(what) is \(state.rawValue), which \(event.rawValue) does not leave", entryID: entryID)
        }
        return next
    }

    /// The outcome event that ends an attempt in `state`, if any: succeed, fail, retry or exhaust.
    package static func outcome(leadingTo state: EntryState) -> EntryEvent? {
        [EntryEvent.succeed, .fail, .retry, .exhaust].first { edge($0).to == state }
    }

    /// The states `event` leaves, in the table's order.
    package static func sources(of event: EntryEvent) -> [EntryState] {
        edge(event).from
    }

    /// `'pending', 'queued'`: states as an SQL list, for a statement spelled once per process.
    package static func sqlList(_ states: [EntryState]) -> String {
        states.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    }
}
