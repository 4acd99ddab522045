import PicusJournal

extension FleetStore {
    /// How long a fleet store waits for PostgreSQL before it gives up on the connection.
    ///
    /// Every step has a deadline: reaching the server and logging in, each query's answer, each row of
    /// a result, each `COPY` of a batch, each commit, and the close. A step that misses its deadline
    /// fails with a transient ``FleetError`` and the connection is closed: a server that went away
    /// without a word (a dropped route, a host that died) cannot hold a ship forever.
    ///
    /// ```swift
    /// var configuration = FleetStore.Configuration()
    /// configuration.operationTimeout = .seconds(20)
    /// let store = try await FleetStore.connect(to: location, configuration: configuration)
    /// ```
    public struct Configuration: Sendable, Hashable {
        /// The longest wait to reach the server and log in: TCP, TLS and authentication together.
        public var connectTimeout: Duration
        /// The longest wait for any one step once connected: an answer, the next row of a result, a
        /// batch's `COPY`, a commit, the close. A batch of ``FleetStore/defaultBatchSize`` entries
        /// takes well under a second on a healthy server.
        public var operationTimeout: Duration

        /// Waits of 10 seconds to connect and 60 seconds for each step.
        public init(connectTimeout: Duration = .seconds(10), operationTimeout: Duration = .seconds(60)) {
            self.connectTimeout = connectTimeout
            self.operationTimeout = operationTimeout
        }
    }
}

extension Duration {
    /// The duration for a message: `60 s`, `0.5 s`.
    var secondsDescription: String {
        let milliseconds = milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}
