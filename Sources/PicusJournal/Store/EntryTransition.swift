import Foundation

/// Where an entry goes once an attempt is recorded.
package struct EntryTransition: Sendable {
    package var state: EntryState
    package var nextAttemptAt: Date?

    package init(state: EntryState, nextAttemptAt: Date? = nil) {
        self.state = state
        self.nextAttemptAt = nextAttemptAt
    }
}
