import Foundation
import GRDB
import NIOCore
import PicusJournal
import PostgresNIO

/// How much one ship carried.
public struct ShipResult: Sendable, Hashable {
    /// Entries written (new ones, and new states of ones shipped before).
    public var entries = 0
    /// Attempts written; an attempt already in the store is not counted again.
    public var attempts = 0
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
    /// an older copy of an entry never overwrites a newer one. The journal is only read, from WAL
    /// snapshots: its writers never wait for a ship. Secrets in headers, request bodies, query
    /// strings and response bodies are redacted on the way, as exports redact them.
    ///
    /// Batches go by `COPY` into session-local staging tables, then one `INSERT … ON CONFLICT` each
    /// into the store; the next batch is read from the journal while the store writes this one.
    ///
    /// - Parameters:
    ///   - journal: The local journal.
    ///   - agent: The journal's name in the fleet.
    ///   - batchSize: Entries per batch and transaction.
    ///   - onBatch: Called after each committed batch with the running totals.
    /// - Returns: What was shipped.
    /// - Throws: ``FleetError`` when the store fails (``FleetError/isTransient`` says whether to retry);
    ///   ``JournalError`` when the journal cannot be read.
    @discardableResult
    public func ship(
        _ journal: Journal, as agent: String, batchSize: Int = defaultBatchSize,
        onBatch: (ShipResult) -> Void = { _ in }
    ) async throws -> ShipResult {
        let identity = try await journal.identity()
        var result = ShipResult()
        result.clock = try await shippedClock(agent: agent, journal: identity)
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
            let attempts = try await write(batch, agent: agent, identity: identity)
            result.entries += batch.entries
            result.attempts += attempts
            result.clock = batch.lastChange
            onBatch(result)
        }
    }

    /// How far the journal `identity` of `agent` was shipped: 0 when never.
    public func shippedClock(agent: String, journal identity: String) async throws -> Int64 {
        try await run("read the last shipment") {
            for try await clock in try await connection.query("""
                SELECT changeSeq FROM \(unescaped: Self.schema).shipment WHERE agent = \(agent) AND journalUuid = \(identity)
                """, logger: logger).decode(Int64.self) {
                return clock
            }
            return 0
        }
    }

    /// The store's entry columns a batch fills, in the order of ``JournalChanges/entryColumns``, after `agent`.
    private static let stagedEntryColumns = ["agent"] + JournalChanges.entryColumns.map { $0 == "id" ? "localId" : $0 }

    /// Session-local tables a batch is copied into, emptied at each commit.
    private func prepareStaging() async throws {
        try await run("prepare to ship") {
            try await connection.query("""
                CREATE TEMP TABLE IF NOT EXISTS ship_entry ON COMMIT DELETE ROWS AS
                SELECT \(unescaped: Self.stagedEntryColumns.joined(separator: ", ")) FROM \(unescaped: Self.schema).entry WITH NO DATA
                """, logger: logger)
            try await connection.query("""
                CREATE TEMP TABLE IF NOT EXISTS ship_attempt ON COMMIT DELETE ROWS AS
                SELECT \(unescaped: JournalChanges.attemptColumns.joined(separator: ", ")) FROM \(unescaped: Self.schema).attempt WITH NO DATA
                """, logger: logger)
        }
    }

    /// Writes one batch and the point it reached, in one transaction; returns the attempts written.
    private func write(_ batch: ShipBatch, agent: String, identity: String) async throws -> Int {
        let entryColumns = Self.stagedEntryColumns.joined(separator: ", ")
        let updates = Self.stagedEntryColumns.filter { $0 != "uuid" }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
        let attemptColumns = JournalChanges.attemptColumns.joined(separator: ", ")
        return try await run("ship") {
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.copyFrom(table: "ship_entry", columns: Self.stagedEntryColumns.map { $0.lowercased() },
                                              logger: logger) { try await $0.write(batch.entryRows) }
                if batch.attemptRows.readableBytes > 0 {
                    try await connection.copyFrom(table: "ship_attempt", columns: JournalChanges.attemptColumns.map { $0.lowercased() },
                                                  logger: logger) { try await $0.write(batch.attemptRows) }
                }
                try await connection.query("""
                    INSERT INTO \(unescaped: Self.schema).entry (\(unescaped: entryColumns)) SELECT \(unescaped: entryColumns) FROM ship_entry
                    ON CONFLICT (uuid) DO UPDATE SET \(unescaped: updates) WHERE entry.changeSeq < EXCLUDED.changeSeq
                    """, logger: logger)
                var written = 0
                for try await count in try await connection.query("""
                    WITH written AS (
                        INSERT INTO \(unescaped: Self.schema).attempt (\(unescaped: attemptColumns)) SELECT \(unescaped: attemptColumns) FROM ship_attempt
                        ON CONFLICT (entryUuid, number) DO NOTHING RETURNING 1)
                    SELECT COUNT(*) FROM written
                    """, logger: logger).decode(Int64.self) {
                    written = Int(count)
                }
                try await connection.query("""
                    INSERT INTO \(unescaped: Self.schema).shipment (agent, journalUuid, changeSeq, shippedAt)
                    VALUES (\(agent), \(identity), \(batch.lastChange), \(Date().unixMilliseconds))
                    ON CONFLICT (agent, journalUuid) DO UPDATE
                    SET changeSeq = GREATEST(shipment.changeSeq, EXCLUDED.changeSeq), shippedAt = EXCLUDED.shippedAt
                    """, logger: logger)
                return written
            }
        }
    }
}

/// One batch of changes in `COPY`'s text format, redacted, ready for the wire.
struct ShipBatch: Sendable {
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
                case 9: // query
                    if case .string(let query) = value.storage, query.contains("=") { rows.text(Redactor.query(query)) } else { rows.value(value) }
                case 10: // requestHeaders
                    if case .string(let headers) = value.storage { rows.text(Redactor.headersJSON(headers)) } else { rows.value(value) }
                case 11: // requestBody
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
                if index == 7, case .string(let headers) = value.storage { // responseHeaders
                    rows.text(Redactor.headersJSON(headers))
                } else {
                    rows.value(value, redactingBody: index == 12) // body
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
