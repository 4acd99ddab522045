import Foundation
import GRDB
import NIOCore
import PicusJournal
import PostgresNIO

/// How much one ship carried.
public struct ShipResult: Sendable, Hashable {
    /// Entries the store wrote: new ones, and new states of ones shipped before.
    public var entries = 0
    /// Attempts written; an attempt already in the store is not counted again.
    public var attempts = 0
    /// Entries sent that the store kept as it had them: it held them already, as they are or newer
    /// (a ship that starts again from an earlier point sends some twice).
    public var unchanged = 0
    /// The journal's change clock the store has now reached.
    public var clock: Int64 = 0

    /// Nothing shipped yet.
    public init() {}
}

extension FleetStore {
    /// Entries per batch and transaction.
    public static let defaultBatchSize = 5000

    /// Copies what changed in `journal` since its last ship under `agent`: new entries, and the new
    /// state and attempts of entries shipped before.
    ///
    /// Each batch commits together with the point it reached, so a ship killed anywhere and run
    /// again resumes there and leaves one copy of everything; running it twice changes nothing, and
    /// an older copy of an entry never overwrites a newer one. An entry belongs to the agent that
    /// shipped it first. Secrets in headers, request bodies, query strings and response bodies are
    /// redacted on the way, as exports redact them.
    ///
    /// The point reached is kept twice: in the store, and — once the store committed — in the journal
    /// file itself. A ship starts from the earlier of the two, so a journal restored from an older
    /// copy, whose change clock went back below what the store saw, ships everything it holds; and
    /// its change clock is moved past the store's point, so that its later changes are newer there
    /// than what the lost timeline left. A journal opened read-only records nothing and may send
    /// again what it sent before (idempotently).
    ///
    /// The journal's entries are read from WAL snapshots: its writers never wait for a ship, which
    /// writes one small row per batch into it. Batches go by `COPY` into session-local staging
    /// tables, then one `INSERT … ON CONFLICT` each into the store; the next batch is read from the
    /// journal while the store writes this one. Every step is held to the store's
    /// ``Configuration/operationTimeout``.
    ///
    /// - Parameters:
    ///   - journal: The local journal.
    ///   - agent: The journal's name in the fleet.
    ///   - batchSize: Entries per batch and transaction.
    ///   - onBatch: Called after each committed batch with the running totals.
    /// - Returns: What was shipped.
    /// - Throws: ``FleetError`` when the store fails or cannot be reached in time (``FleetError/isTransient``
    ///   says whether to retry), or when the journal was shipped to this store under another agent name;
    ///   `JournalError` when the journal cannot be read.
    @discardableResult
    public func ship(
        _ journal: Journal, as agent: String, batchSize: Int = defaultBatchSize,
        onBatch: (ShipResult) -> Void = { _ in }
    ) async throws -> ShipResult {
        let identity = try await journal.identity()
        // One read of the store's shipments of this journal: whether another agent has it, and how far.
        let shipments = try await shipments(ofJournal: identity)
        try refuseOtherAgents(shipments, as: agent, journal: journal)
        let stored = shipments.first { $0.agent == agent }?.clock ?? 0
        let recorded = try await journal.shippedClock(to: destination, as: agent) ?? 0
        if recorded < stored { try await journal.advanceChangeClock(to: stored) }
        var result = ShipResult()
        result.clock = min(stored, recorded)
        try await prepareStaging()
        func read(after clock: Int64) -> Task<ShipBatch, any Error> {
            Task { ShipBatch(try await journal.changes(after: clock, limit: batchSize), agent: agent) }
        }
        var next = read(after: result.clock)
        defer { next.cancel() }
        while true {
            let batch = try await next.value
            guard batch.entries > 0 else { return result }
            // The journal is read ahead while the store writes.
            next = read(after: batch.lastChange)
            let shippedAt = journal.clock.now()
            let written = try await write(batch, agent: agent, identity: identity, at: shippedAt)
            try await journal.recordShipment(to: destination, as: agent, clock: batch.lastChange, at: shippedAt)
            result.entries += written.entries
            result.unchanged += batch.entries - written.entries
            result.attempts += written.attempts
            result.clock = batch.lastChange
            onBatch(result)
        }
    }

    /// How far the journal `identity` of `agent` was shipped, as the store recorded it: 0 when never.
    public func shippedClock(agent: String, journal identity: String) async throws -> Int64 {
        try await shipments(ofJournal: identity).first { $0.agent == agent }?.clock ?? 0
    }

    /// The store's shipments of the journal `identity`, the latest first: under which agent, how far.
    private func shipments(ofJournal identity: String) async throws -> [(agent: String, clock: Int64)] {
        let query: PostgresQuery = """
            SELECT agent, changeSeq FROM \(unescaped: Self.schema).shipment WHERE journalUuid = \(identity) ORDER BY shippedAt DESC
            """
        let logger = logger
        return try await run("read the last shipment") { connection in
            var shipments: [(agent: String, clock: Int64)] = []
            for try await (agent, clock) in try await connection.query(query, logger: logger).decode((String, Int64).self) {
                shipments.append((agent, clock))
            }
            return shipments
        }
    }

    /// The store as the journal names it in its own record of shipments: the server and the database,
    /// not the user, who may change while the data stays.
    var destination: String { "\(fleetLocation.host):\(fleetLocation.port)/\(fleetLocation.database)" }

    /// Refuses to ship a journal under a second agent name: its entries are in the store already,
    /// under the first name, and stay there (an entry's uuid is unique in the store), so the second
    /// name would get only what the journal writes from now on — one host's history split in two.
    private func refuseOtherAgents(_ shipments: [(agent: String, clock: Int64)], as agent: String, journal: Journal) throws {
        let other = shipments.first { $0.agent != agent }?.agent
        if let other {
            throw FleetError("""
                \(journal.path) was shipped to \(location) as agent \(other), and its entries there belong to that agent; \
                ship it as --agent \(other) (to rename an agent, see the README's fleet section)
                """)
        }
    }

    /// The store's entry columns a batch fills, in the order of ``JournalChanges/entryColumns``, after `agent`.
    private static let stagedEntryColumns = ["agent"] + JournalChanges.entryColumns.names.map { $0 == "id" ? "localId" : $0 }

    /// Session-local tables a batch is copied into, emptied at each commit.
    private func prepareStaging() async throws {
        let entries: PostgresQuery = """
            CREATE TEMP TABLE IF NOT EXISTS ship_entry ON COMMIT DELETE ROWS AS
            SELECT \(unescaped: Self.stagedEntryColumns.joined(separator: ", ")) FROM \(unescaped: Self.schema).entry WITH NO DATA
            """
        let attempts: PostgresQuery = """
            CREATE TEMP TABLE IF NOT EXISTS ship_attempt ON COMMIT DELETE ROWS AS
            SELECT \(unescaped: JournalChanges.attemptColumnNames.joined(separator: ", ")) FROM \(unescaped: Self.schema).attempt WITH NO DATA
            """
        let logger = logger
        try await run("prepare to ship") { connection in
            try await connection.query(entries, logger: logger)
            try await connection.query(attempts, logger: logger)
        }
    }

    /// Writes one batch and the point it reached, in one transaction, each step held to its own
    /// deadline; returns the entries and the attempts the store wrote.
    private func write(_ batch: ShipBatch, agent: String, identity: String, at now: Date) async throws -> (entries: Int, attempts: Int) {
        let entryColumns = Self.stagedEntryColumns.joined(separator: ", ")
        let updates = Self.stagedEntryColumns.filter { $0 != "uuid" }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        let attemptColumns = JournalChanges.attemptColumnNames.joined(separator: ", ")
        let logger = logger
        try await run("begin a batch") { try await $0.query("BEGIN", logger: logger) }
        do {
            try await run("copy a batch") { connection in
                try await connection.copy(batch.entryRows, into: "ship_entry", columns: Self.stagedEntryColumns.map { $0.lowercased() },
                                          logger: logger)
            }
            if batch.attemptRows.readableBytes > 0 {
                try await run("copy a batch") { connection in
                    try await connection.copy(batch.attemptRows, into: "ship_attempt", columns: JournalChanges.attemptColumnNames.map { $0.lowercased() },
                                              logger: logger)
                }
            }
            // Counted from what the statements wrote: a row the store kept (as new, newer, or another
            // agent's) is not shipped, whatever the batch held.
            let entries = try await count("ship", """
                WITH written AS (
                    INSERT INTO \(unescaped: Self.schema).entry (\(unescaped: entryColumns)) SELECT \(unescaped: entryColumns) FROM ship_entry
                    ON CONFLICT (uuid) DO UPDATE SET \(unescaped: updates)
                    WHERE entry.changeSeq < EXCLUDED.changeSeq AND entry.agent = EXCLUDED.agent
                    RETURNING 1)
                SELECT COUNT(*) FROM written
                """)
            let attempts = try await count("ship", """
                WITH written AS (
                    INSERT INTO \(unescaped: Self.schema).attempt (\(unescaped: attemptColumns)) SELECT \(unescaped: attemptColumns) FROM ship_attempt
                    ON CONFLICT (entryUuid, number) DO NOTHING RETURNING 1)
                SELECT COUNT(*) FROM written
                """)
            let shipment: PostgresQuery = """
                INSERT INTO \(unescaped: Self.schema).shipment (agent, journalUuid, changeSeq, shippedAt)
                VALUES (\(agent), \(identity), \(batch.lastChange), \(now.unixMilliseconds))
                ON CONFLICT (agent, journalUuid) DO UPDATE
                SET changeSeq = GREATEST(shipment.changeSeq, EXCLUDED.changeSeq), shippedAt = EXCLUDED.shippedAt
                """
            try await run("record the shipment") { try await $0.query(shipment, logger: logger) }
            try await run("commit a batch") { try await $0.query("COMMIT", logger: logger) }
            return (entries, attempts)
        } catch {
            // A step the server refused leaves the transaction aborted; a lost or abandoned connection
            // took it with it.
            if !connection.isClosed {
                _ = try? await run("roll back a batch") { try await $0.query("ROLLBACK", logger: logger) }
            }
            throw error
        }
    }

    /// The one number a statement selects.
    private func count(_ action: String, _ query: PostgresQuery) async throws -> Int {
        let logger = logger
        return try await run(action) { connection in
            var count: Int64 = 0
            for try await value in try await connection.query(query, logger: logger).decode(Int64.self) { count = value }
            return Int(count)
        }
    }
}

/// One batch of changes in `COPY`'s text format, redacted, ready for the wire.
struct ShipBatch: Sendable {
    /// The positions of the values redacted on the way, in the change feed's rows.
    private static let entryQuery = JournalChanges.entryColumns[.query]
    private static let entryRequestHeaders = JournalChanges.entryColumns[.requestHeaders]
    private static let entryRequestBody = JournalChanges.entryColumns[.requestBody]
    private static let attemptResponseHeaders = JournalChanges.attemptColumns[.responseHeaders]
    private static let attemptBody = JournalChanges.attemptColumns[.body]

    var entries = 0
    var lastChange: Int64
    var entryRows: ByteBuffer
    var attemptRows: ByteBuffer

    init(_ changes: JournalChanges, agent: String) {
        lastChange = changes.lastChange
        entries = changes.entries.count
        var rows = CopyText(capacity: changes.entries.count * 600)
        for values in changes.entries {
            rows.text(agent)
            for (index, value) in values.enumerated() {
                rows.separator()
                switch index {
                case Self.entryQuery:
                    if case .string(let query) = value.storage, query.contains("=") { rows.text(Redactor.query(query)) } else { rows.value(value) }
                case Self.entryRequestHeaders:
                    if case .string(let headers) = value.storage { rows.text(Redactor.headersJSON(headers)) } else { rows.value(value) }
                case Self.entryRequestBody:
                    rows.value(value, redactingBody: true)
                default:
                    rows.value(value)
                }
            }
            rows.endRow()
        }
        entryRows = rows.buffer
        rows = CopyText(capacity: changes.attempts.count * 400)
        for values in changes.attempts {
            for (index, value) in values.enumerated() {
                if index > 0 { rows.separator() }
                if index == Self.attemptResponseHeaders, case .string(let headers) = value.storage {
                    rows.text(Redactor.headersJSON(headers))
                } else {
                    rows.value(value, redactingBody: index == Self.attemptBody)
                }
            }
            rows.endRow()
        }
        attemptRows = rows.buffer
    }
}

/// Rows in the text format of PostgreSQL's `COPY`: tab-separated, `\N` for NULL, backslash escapes.
struct CopyText {
    var buffer: ByteBuffer

    init(capacity: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    mutating func separator() { buffer.writeInteger(UInt8(ascii: "\t")) }
    mutating func endRow() { buffer.writeInteger(UInt8(ascii: "\n")) }

    /// A SQLite value: integers and reals as numbers, text escaped, blobs as `bytea` hex.
    mutating func value(_ value: DatabaseValue, redactingBody: Bool = false) {
        switch value.storage {
        case .null: buffer.writeStaticString("\\N")
        case .int64(let number): buffer.writeString(String(number))
        case .double(let number): buffer.writeString(number.isFinite ? "\(number)" : "0")
        case .string(let text):
            if redactingBody { bytea(Redactor.body(Data(text.utf8))) } else { self.text(text) }
        case .blob(let data): bytea(redactingBody ? Redactor.body(data) : data)
        }
    }

    mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated() {
                let escaped: UInt8
                switch byte {
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
                case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
                case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
                case 0: escaped = 0
                default: continue
                }
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<index])))
                // PostgreSQL text cannot hold NUL: it is dropped.
                if escaped != 0 {
                    buffer.writeInteger(UInt8(ascii: "\\"))
                    buffer.writeInteger(escaped)
                }
                start = index + 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start...])))
        }
    }

    /// `bytea` in hex, its backslash escaped for `COPY`: `\\x0a1b…`.
    mutating func bytea(_ data: Data) {
        buffer.writeStaticString("\\\\x")
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            buffer.reserveCapacity(minimumWritableBytes: data.count * 2)
            for byte in data {
                buffer.writeInteger(digits[Int(byte >> 4)])
                buffer.writeInteger(digits[Int(byte & 0x0F)])
            }
        }
    }
}
