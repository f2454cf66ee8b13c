import Logging
import PostgresNIO

/// Versioned schema migrations, applied in order inside one transaction under an advisory lock so that
/// several services starting at once never race. Each version runs once; add new ones at the end.
public enum Migrations {
    static let all: [(version: Int, sql: [PostgresQuery])] = [
        (1, [
            """
            CREATE TABLE media (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL,
                username TEXT NOT NULL,
                file_type TEXT NOT NULL,
                status TEXT NOT NULL,
                file_size BIGINT NOT NULL,
                mime_type TEXT NOT NULL,
                format TEXT NOT NULL,
                original_filename TEXT NOT NULL,
                storage_key TEXT NOT NULL,
                renditions JSONB NOT NULL DEFAULT '{}',
                width INT,
                height INT,
                duration DOUBLE PRECISION,
                bitrate BIGINT,
                metadata JSONB NOT NULL DEFAULT '{}',
                is_public BOOLEAN NOT NULL DEFAULT TRUE,
                generation INT NOT NULL DEFAULT 1,
                idempotency_key TEXT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX media_user_created ON media (user_id, created_at DESC, id DESC)",
            "CREATE INDEX media_storage_key ON media (storage_key text_pattern_ops)",
            """
            CREATE UNIQUE INDEX media_user_idempotency ON media (user_id, idempotency_key)
            WHERE idempotency_key IS NOT NULL
            """,
            """
            CREATE TABLE outbox (
                id BIGSERIAL PRIMARY KEY,
                event_id UUID NOT NULL UNIQUE,
                exchange TEXT NOT NULL,
                routing_key TEXT NOT NULL,
                event_type TEXT NOT NULL,
                body BYTEA NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                sent_at TIMESTAMPTZ,
                attempts INT NOT NULL DEFAULT 0,
                last_error TEXT
            )
            """,
            "CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL",
            """
            CREATE TABLE processed_events (
                consumer TEXT NOT NULL,
                event_id UUID NOT NULL,
                processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer, event_id)
            )
            """,
        ]),
        (2, [
            // The relay claims rows with a lease instead of holding them locked in a transaction while it waits for
            // the broker (issue 19): `claimed_until` is that lease.
            "ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMPTZ",
        ]),
    ]

    /// Brings the schema up to date. Safe to call from every service at start-up.
    public static func run(on client: PostgresClient, logger: Logger) async throws {
        try await client.transaction(logger: logger) { connection in
            // A fixed key: every Mediaflow service serialises on the same lock.
            try await connection.query("SELECT pg_advisory_xact_lock(7210331)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
                .decode(Int.self)
            {
                applied.insert(version)
            }
            for migration in all where !applied.contains(migration.version) {
                for statement in migration.sql {
                    try await connection.query(statement, logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
                logger.info("applied migration", metadata: ["version": "\(migration.version)"])
            }
        }
    }
}
