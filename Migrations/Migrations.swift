/// The journal's schema migrations, in order: the `.sql` files of this folder, embedded at build time.
///
/// The files are the single source of truth of the schema. They are never edited once released;
/// a new migration is a new `NNNN_name.sql` file added here.
package enum JournalMigrations {
    /// One migration: its identifier (the file name without `.sql`) and its SQL text.
    package struct Migration: Sendable {
        package let identifier: String
        package let sql: String
        /// Whether the migration needs SQLite's FTS5 (and is skipped where it is missing).
        package var needsFullTextSearch = false
        /// Whether the migration edits `sqlite_schema` itself (to widen a CHECK constraint in place):
        /// the schema version is bumped after it.
        package var editsSchemaInPlace = false
    }

    /// Every migration this binary knows, oldest first.
    package static let all: [Migration] = [
        Migration(identifier: "0001_journal", sql: String(decoding: PackageResources._001_journal_sql, as: UTF8.self)),
        Migration(identifier: "0002_search", sql: String(decoding: PackageResources._002_search_sql, as: UTF8.self),
                  needsFullTextSearch: true),
        Migration(identifier: "0003_replayable", sql: String(decoding: PackageResources._003_replayable_sql, as: UTF8.self)),
        Migration(identifier: "0004_trace", sql: String(decoding: PackageResources._004_trace_sql, as: UTF8.self)),
        Migration(identifier: "0005_due", sql: String(decoding: PackageResources._005_due_sql, as: UTF8.self)),
        Migration(identifier: "0006_budget", sql: String(decoding: PackageResources._006_budget_sql, as: UTF8.self)),
        Migration(identifier: "0007_change", sql: String(decoding: PackageResources._007_change_sql, as: UTF8.self)),
        Migration(identifier: "0008_lean", sql: String(decoding: PackageResources._008_lean_sql, as: UTF8.self)),
        Migration(identifier: "0009_shipment", sql: String(decoding: PackageResources._009_shipment_sql, as: UTF8.self)),
        Migration(identifier: "0010_pacing", sql: String(decoding: PackageResources._010_pacing_sql, as: UTF8.self)),
        Migration(identifier: "0011_transport_kinds", sql: String(decoding: PackageResources._011_transport_kinds_sql, as: UTF8.self),
                  editsSchemaInPlace: true),
    ]

    /// The fleet store's PostgreSQL migrations (`postgres/NNNN_name.sql`), oldest first.
    package static let postgres: [Migration] = [
        Migration(identifier: "0001_fleet", sql: String(decoding: PackageResources._001_fleet_sql, as: UTF8.self)),
    ]
}
