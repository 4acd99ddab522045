import Foundation

/// A failure of the fleet store — reaching it, logging in, migrating, reading or writing — in one
/// line that says what went wrong and what to do. It never holds a password or a bound value.
public struct FleetError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public let description: String

    /// Whether trying again later may work (the server is unreachable or went away), as opposed to
    /// a failure that needs a person (a wrong password, a newer schema).
    public let isTransient: Bool

    init(_ description: String, isTransient: Bool = false) {
        self.description = description
        self.isTransient = isTransient
    }
}
