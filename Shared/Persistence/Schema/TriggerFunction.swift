import Logging
import PostgresNIO

/// A plpgsql function with the triggers that run it, kept in one Swift file beside the code that relies on what it
/// does (the event log beside `PostgresMediaEventLog`, the webhook fan-out beside `PostgresWebhookStore`, …), so a
/// reader of that code sees the SQL it depends on.
///
/// Unlike the versioned migrations, these are the current definitions: `Migrations.run` applies them after the
/// versioned steps (`CREATE OR REPLACE FUNCTION`, then each trigger dropped and made again) whenever their text
/// differs from what the database last got, all in the migration's transaction. Changing one is editing its file.
public struct TriggerFunction: Sendable {
    public struct Trigger: Sendable {
        public var name: String
        public var table: String
        /// The whole `CREATE [CONSTRAINT] TRIGGER …` statement.
        public var definition: String
    }

    public var name: String
    /// The whole `CREATE OR REPLACE FUNCTION …` statement.
    public var function: String
    /// Plain SQL functions the trigger function calls (`CREATE OR REPLACE FUNCTION …`), applied before it.
    public var helpers: [String] = []
    public var triggers: [Trigger]

    /// Every trigger function of the schema, in the order they are applied.
    static let all: [TriggerFunction] = [
        .mediaCountsTrack, .mediaNotifyChange, .mediaRecordEvent, .mediaEventPosition, .webhookFanOut,
        .storedObjectsQuota, .mediaStoredObjects, .mediaPerceptualHash,
    ]

    /// A fingerprint of the definition (FNV-1a over the statements), stored to tell whether it changed.
    var fingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (helpers + [function] + triggers.map(\.definition)).joined(separator: "\u{0}").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Applies every definition the database does not have yet, on the migration's connection.
    static func applyChanged(on connection: GuardedConnection, logger: Logger) async throws {
        try await connection.query(
            "CREATE TABLE IF NOT EXISTS schema_functions (name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)", logger: logger)
        var applied: [String: String] = [:]
        for try await (name, fingerprint) in try await connection.query(
            "SELECT name, fingerprint FROM schema_functions", logger: logger).decode((String, String).self)
        {
            applied[name] = fingerprint
        }
        for definition in all where applied[definition.name] != definition.fingerprint {
            for helper in definition.helpers {
                try await connection.query(PostgresQuery(unsafeSQL: helper), logger: logger)
            }
            try await connection.query(PostgresQuery(unsafeSQL: definition.function), logger: logger)
            for trigger in definition.triggers {
                try await connection.query(
                    PostgresQuery(unsafeSQL: "DROP TRIGGER IF EXISTS \(trigger.name) ON \(trigger.table)"), logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: trigger.definition), logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO schema_functions (name, fingerprint) VALUES (\(definition.name), \(definition.fingerprint))
                ON CONFLICT (name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint
                """, logger: logger)
            logger.info("applied trigger function", metadata: ["function": "\(definition.name)"])
        }
    }
}
