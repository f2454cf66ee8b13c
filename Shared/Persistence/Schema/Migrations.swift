import Logging
import PostgresNIO

/// Versioned schema migrations, applied in order inside one transaction under an advisory lock so that
/// several services starting at once never race. Each version runs once; add new ones at the end. Trigger
/// functions are not versioned here but kept current from their own files (`TriggerFunction`), in the same
/// transaction, after the versions.
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
        (3, [
            // A user's figures kept as they change (issue 19): stats and the list's count read a dozen counter rows
            // instead of counting every media of the user, which grew with the user's media (80 req/s at 10,000).
            """
            CREATE TABLE media_counts (
                user_id BIGINT NOT NULL,
                file_type TEXT NOT NULL,
                status TEXT NOT NULL,
                count BIGINT NOT NULL,
                total_size BIGINT NOT NULL,
                PRIMARY KEY (user_id, file_type, status)
            )
            """,
            """
            CREATE FUNCTION media_counts_add(u BIGINT, t TEXT, s TEXT, n BIGINT, bytes BIGINT) RETURNS void
            LANGUAGE sql AS $$
                INSERT INTO media_counts AS c (user_id, file_type, status, count, total_size) VALUES (u, t, s, n, bytes)
                ON CONFLICT (user_id, file_type, status)
                DO UPDATE SET count = c.count + EXCLUDED.count, total_size = c.total_size + EXCLUDED.total_size
            $$
            """,
            """
            CREATE FUNCTION media_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM media_counts_add(NEW.user_id, NEW.file_type, NEW.status, 1, NEW.file_size);
                ELSIF TG_OP = 'DELETE' THEN
                    PERFORM media_counts_add(OLD.user_id, OLD.file_type, OLD.status, -1, -OLD.file_size);
                ELSIF (OLD.user_id, OLD.file_type, OLD.status, OLD.file_size)
                      IS DISTINCT FROM (NEW.user_id, NEW.file_type, NEW.status, NEW.file_size) THEN
                    -- Two counter rows, always locked in key order: two transactions never wait on each other crosswise.
                    IF (OLD.user_id, OLD.file_type, OLD.status) <= (NEW.user_id, NEW.file_type, NEW.status) THEN
                        PERFORM media_counts_add(OLD.user_id, OLD.file_type, OLD.status, -1, -OLD.file_size);
                        PERFORM media_counts_add(NEW.user_id, NEW.file_type, NEW.status, 1, NEW.file_size);
                    ELSE
                        PERFORM media_counts_add(NEW.user_id, NEW.file_type, NEW.status, 1, NEW.file_size);
                        PERFORM media_counts_add(OLD.user_id, OLD.file_type, OLD.status, -1, -OLD.file_size);
                    END IF;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            // No row may change between the backfill and the trigger taking over.
            "LOCK TABLE media IN SHARE ROW EXCLUSIVE MODE",
            """
            CREATE TRIGGER media_counts_track AFTER INSERT OR DELETE OR UPDATE OF user_id, file_type, status, file_size
            ON media FOR EACH ROW EXECUTE FUNCTION media_counts_track()
            """,
            """
            INSERT INTO media_counts (user_id, file_type, status, count, total_size)
            SELECT user_id, file_type, status, count(*), COALESCE(sum(file_size), 0) FROM media GROUP BY 1, 2, 3
            """,
            // The list pages through this index alone (an index-only scan, filters included), then fetches its rows.
            "CREATE INDEX media_user_list ON media (user_id, created_at DESC, id DESC) INCLUDE (file_type, status)",
            "DROP INDEX media_user_created",
        ]),
        (4, [
            // Every change of a media row is announced, so each Gateway's read cache drops what went stale.
            """
            CREATE FUNCTION media_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM pg_notify('media_changed', OLD.id || ' ' || OLD.user_id);
                ELSE
                    PERFORM pg_notify('media_changed', NEW.id || ' ' || NEW.user_id);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER media_notify_change AFTER INSERT OR UPDATE OR DELETE ON media
            FOR EACH ROW EXECUTE FUNCTION media_notify_change()
            """,
        ]),
        (5, [
            // The Janitor (SPEC §4): how often a stuck job was republished in its generation, and the indexes its
            // tasks page through (stale processing, old failures, storage folders, delivered outbox and inbox rows).
            "ALTER TABLE media ADD COLUMN stuck_republishes INT NOT NULL DEFAULT 0",
            "CREATE INDEX media_processing_since ON media (updated_at) WHERE status = 'processing'",
            "CREATE INDEX media_failed_since ON media (updated_at) WHERE status = 'failed'",
            "CREATE INDEX media_folder ON media ((split_part(storage_key, '/', 2)))",
            "CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL",
            "CREATE INDEX outbox_unsent_since ON outbox (created_at) WHERE sent_at IS NULL",
            "CREATE INDEX processed_events_at ON processed_events (processed_at)",
            """
            CREATE TABLE janitor_runs (
                id BIGSERIAL PRIMARY KEY,
                task TEXT NOT NULL,
                trigger TEXT NOT NULL,
                instance TEXT NOT NULL,
                dry_run BOOLEAN NOT NULL,
                started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                finished_at TIMESTAMPTZ,
                counts JSONB NOT NULL DEFAULT '{}',
                error TEXT
            )
            """,
            "CREATE INDEX janitor_runs_task ON janitor_runs (task, started_at DESC)",
        ]),
        (6, [
            // The admin console (SPEC §7) lists every user's media newest first, by status, and searches file and
            // owner names for a substring: trigram indexes serve ILIKE '%text%' (pg_trgm is a trusted extension
            // shipped with PostgreSQL, so the database owner may create it).
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE INDEX media_created ON media (created_at DESC, id DESC)",
            "CREATE INDEX media_status_created ON media (status, created_at DESC, id DESC)",
            "CREATE INDEX media_filename_trgm ON media USING gin (original_filename gin_trgm_ops)",
            "CREATE INDEX media_username_trgm ON media USING gin (username gin_trgm_ops)",
        ]),
        (7, [
            // The upload request's W3C traceparent, published with its event (SPEC §3).
            "ALTER TABLE outbox ADD COLUMN traceparent TEXT",
        ]),
        (8, [
            // Resumable (tus) uploads in progress (SPEC §8): the offset lives here, not in a Gateway, so another
            // Gateway continues an upload; a PATCH claims the row for a lease it renews while bytes arrive.
            """
            CREATE TABLE uploads (
                id UUID PRIMARY KEY,
                user_id BIGINT NOT NULL,
                username TEXT NOT NULL,
                filename TEXT NOT NULL,
                is_public BOOLEAN NOT NULL,
                idempotency_key TEXT,
                length BIGINT NOT NULL,
                received BIGINT NOT NULL DEFAULT 0,
                format TEXT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                expires_at TIMESTAMPTZ NOT NULL,
                claimed_by UUID,
                claimed_until TIMESTAMPTZ,
                media_id BIGINT,
                metadata TEXT
            )
            """,
            "CREATE INDEX uploads_expiry ON uploads (expires_at)",
        ]),
        (9, [
            // What a user's clients are told (SPEC §8, live status and webhooks): every media turning ready or failed,
            // its progress and its deletion, recorded by a trigger in the transaction that changed the row, whoever
            // changed it (the fold, the user, staff, the Janitor), and announced on `media_events`. Events are read
            // by id: an SSE stream resumes after `Last-Event-ID`, a webhook sender walks them in order.
            """
            CREATE TABLE media_events (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL,
                media_id BIGINT NOT NULL,
                type TEXT NOT NULL,
                percent DOUBLE PRECISION,
                snapshot JSONB,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX media_events_user ON media_events (user_id, id)",
            "CREATE INDEX media_events_created ON media_events (created_at)",
            """
            CREATE FUNCTION media_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind TEXT;
                pct DOUBLE PRECISION;
                snap JSONB;
                row_user BIGINT;
                row_media BIGINT;
                event_id BIGINT;
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    kind := 'media.deleted';
                    snap := to_jsonb(OLD);
                    row_user := OLD.user_id;
                    row_media := OLD.id;
                ELSE
                    row_user := NEW.user_id;
                    row_media := NEW.id;
                    IF NEW.status = 'ready' AND (OLD.status <> 'ready' OR OLD.generation <> NEW.generation) THEN
                        kind := 'media.ready';
                        snap := to_jsonb(NEW);
                    ELSIF NEW.status = 'failed' AND OLD.status <> 'failed' THEN
                        kind := 'media.failed';
                        snap := to_jsonb(NEW);
                    ELSIF NEW.status = 'processing' AND NEW.metadata ? 'progress'
                          AND (NEW.metadata -> 'progress') IS DISTINCT FROM (OLD.metadata -> 'progress') THEN
                        kind := 'media.progress';
                        pct := (NEW.metadata ->> 'progress')::double precision;
                    ELSE
                        RETURN NULL;
                    END IF;
                END IF;
                INSERT INTO media_events (user_id, media_id, type, percent, snapshot)
                VALUES (row_user, row_media, kind, pct, snap) RETURNING id INTO event_id;
                PERFORM pg_notify('media_events', event_id || ' ' || row_user);
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER media_record_event AFTER UPDATE OR DELETE ON media
            FOR EACH ROW EXECUTE FUNCTION media_record_event()
            """,
        ]),
        // Live status and webhooks (SPEC §8). A stream ticket is used once: redeeming deletes it. A webhook's deliveries
        // are made by a trigger in the transaction that records the event, so no event a webhook asked for is lost
        // between the change and the sender; senders claim due deliveries with a lease (any Gateway may send).
        (10, [
            """
            CREATE TABLE event_stream_tickets (
                ticket TEXT PRIMARY KEY,
                user_id BIGINT NOT NULL,
                username TEXT NOT NULL,
                is_staff BOOLEAN NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE webhooks (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL,
                url TEXT NOT NULL,
                events TEXT[] NOT NULL,
                secret TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX webhooks_user ON webhooks (user_id)",
            """
            CREATE TABLE webhook_deliveries (
                id BIGSERIAL PRIMARY KEY,
                webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
                event_id BIGINT NOT NULL,
                event_type TEXT NOT NULL,
                body TEXT,
                status TEXT NOT NULL DEFAULT 'pending',
                attempts INT NOT NULL DEFAULT 0,
                next_attempt_at TIMESTAMPTZ,
                claimed_until TIMESTAMPTZ,
                claim UUID,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
            "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id DESC)",
            "CREATE INDEX webhook_deliveries_unrendered ON webhook_deliveries (event_id) WHERE body IS NULL",
            """
            CREATE TABLE webhook_attempts (
                id BIGSERIAL PRIMARY KEY,
                delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
                attempted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                succeeded BOOLEAN NOT NULL,
                response_code INT,
                error TEXT,
                duration_ms INT NOT NULL
            )
            """,
            "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)",
            """
            CREATE FUNCTION webhook_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, next_attempt_at)
                SELECT w.id, NEW.id, NEW.type, now() FROM webhooks w
                WHERE w.user_id = NEW.user_id AND NEW.type = ANY (w.events);
                IF FOUND THEN
                    PERFORM pg_notify('webhook_deliveries', NEW.id::text);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER webhook_fan_out AFTER INSERT ON media_events
            FOR EACH ROW EXECUTE FUNCTION webhook_fan_out()
            """,
        ]),
        // From here on, trigger functions are not written in migrations: each is defined once in a file of its own
        // (`TriggerFunction`), applied after these steps whenever it changed.
        (11, [
            // A webhook's body is rendered at each attempt (its signed file URLs fresh even at the 6 h retry): nothing
            // is stored, and an event is kept while any delivery of it is (a redelivery renders it again).
            "DROP INDEX webhook_deliveries_unrendered",
            "ALTER TABLE webhook_deliveries DROP COLUMN body",
            "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)",
        ]),
        (12, [
            // Live status in commit order (issue 27, defect 4): `position`, given at commit by `media_event_position`,
            // is what streams and `Last-Event-ID` count in; events recorded so far keep their ids as positions.
            "CREATE SEQUENCE media_events_position",
            "ALTER TABLE media_events ADD COLUMN position BIGINT",
            "UPDATE media_events SET position = id",
            "SELECT setval('media_events_position', (SELECT coalesce(max(id), 0) + 1 FROM media_events), false)",
            "CREATE UNIQUE INDEX media_events_position_key ON media_events (position)",
            "CREATE INDEX media_events_user_position ON media_events (user_id, position)",
            "DROP INDEX media_events_user",
        ]),
        (13, [
            // A live-status stream ends when the token behind it expires (SPEC §10), also when opened with a ticket.
            "DELETE FROM event_stream_tickets",
            "ALTER TABLE event_stream_tickets ADD COLUMN holder_expires_at TIMESTAMPTZ NOT NULL",
        ]),
        (14, [
            // Admin console sessions (SPEC §7): the cookie holds a random id whose hash is kept here, so logout, the
            // token's expiry or staff revoking it ends the session on every Gateway at once.
            """
            CREATE TABLE admin_sessions (
                id BIGSERIAL PRIMARY KEY,
                secret_hash TEXT NOT NULL UNIQUE,
                user_id BIGINT NOT NULL,
                username TEXT NOT NULL,
                is_staff BOOLEAN NOT NULL,
                csrf_token TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                expires_at TIMESTAMPTZ NOT NULL,
                ended_at TIMESTAMPTZ,
                ended_by TEXT
            )
            """,
            "CREATE INDEX admin_sessions_active ON admin_sessions (expires_at) WHERE ended_at IS NULL",
        ]),
        (15, [
            // Jobs as processors run them (`JobLedger`): started before any work, a heartbeat while running, ended with
            // any outcome. A start that finds its row still running counts a crash (poison messages); the Janitor's
            // stuck_processing reads the heartbeat instead of the row's updated_at (a queued job is never stuck).
            """
            CREATE TABLE processing_jobs (
                queue TEXT NOT NULL,
                event_id UUID NOT NULL,
                media_id BIGINT NOT NULL,
                generation INT NOT NULL,
                worker TEXT NOT NULL,
                started_at TIMESTAMPTZ NOT NULL,
                heartbeat_at TIMESTAMPTZ NOT NULL,
                running BOOLEAN NOT NULL,
                crashed_starts INT NOT NULL DEFAULT 0,
                PRIMARY KEY (queue, event_id)
            )
            """,
            "CREATE INDEX processing_jobs_media ON processing_jobs (media_id, generation)",
            "CREATE INDEX processing_jobs_running ON processing_jobs (heartbeat_at) WHERE running",
        ]),
        (16, [
            // Dead letters as parked (issue 27, defect 6): recorded from the dead queues by the Janitor, then listed,
            // grouped and replayed from here; a replay claims letters with a lease. Resolved ones are kept 14 days.
            """
            CREATE TABLE dead_letters (
                id BIGSERIAL PRIMARY KEY,
                queue TEXT NOT NULL,
                event_id TEXT NOT NULL,
                replays INT NOT NULL,
                type TEXT NOT NULL,
                code TEXT NOT NULL,
                message TEXT NOT NULL,
                attempts INT NOT NULL,
                first_failed_at TIMESTAMPTZ,
                media_id BIGINT,
                generation INT,
                exchange TEXT NOT NULL,
                routing_key TEXT NOT NULL,
                headers JSONB NOT NULL,
                body BYTEA NOT NULL,
                parked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                claimed_until TIMESTAMPTZ,
                resolution TEXT,
                resolved_at TIMESTAMPTZ,
                UNIQUE (queue, event_id, replays)
            )
            """,
            "CREATE INDEX dead_letters_unresolved ON dead_letters (queue, code, id) WHERE resolution IS NULL",
            "CREATE INDEX dead_letters_resolved ON dead_letters (resolved_at) WHERE resolution IS NOT NULL",
        ]),
        (17, [
            // The Janitor lease (issue 27, defect 7): the acting Janitor takes the next epoch; its tasks' writes check it.
            """
            CREATE TABLE janitor_lease (
                id INT PRIMARY KEY CHECK (id = 1),
                epoch BIGINT NOT NULL,
                holder TEXT,
                taken_at TIMESTAMPTZ
            )
            """,
            "INSERT INTO janitor_lease (id, epoch) VALUES (1, 0)",
            // Runs asked for by staff and mediactl, carried out by the acting Janitor: requested → running → finished.
            "ALTER TABLE janitor_runs ADD COLUMN state TEXT NOT NULL DEFAULT 'finished'",
            "UPDATE janitor_runs SET state = 'running' WHERE finished_at IS NULL",
        ]),
        (18, [
            // Fair use (SPEC §10, issue 28). The stored-object ledger: one row per file in storage that a media owns
            // (its original, each rendition; later HLS segments, variants, sprites), kept by triggers in the
            // transaction that records or removes the file (`StoredObjectsTrigger`), and each user's quota figures
            // beside it, changed by the ledger's own trigger: a crash can never leave a counter off from the ledger.
            """
            CREATE TABLE stored_objects (
                key TEXT PRIMARY KEY,
                media_id BIGINT,
                user_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                bytes BIGINT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX stored_objects_media ON stored_objects (media_id)",
            "CREATE INDEX stored_objects_user ON stored_objects (user_id)",
            """
            CREATE TABLE user_quotas (
                user_id BIGINT PRIMARY KEY,
                limit_bytes BIGINT CHECK (limit_bytes >= 0),
                used_bytes BIGINT NOT NULL DEFAULT 0,
                reserved_bytes BIGINT NOT NULL DEFAULT 0
            )
            """,
            // Bytes promised to uploads still arriving: taken in one short statement at the start, given back when the
            // upload becomes a media or fails; a crashed Gateway's promises lapse at `expires_at`.
            """
            CREATE TABLE quota_reservations (
                id UUID PRIMARY KEY,
                user_id BIGINT NOT NULL,
                bytes BIGINT NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX quota_reservations_user ON quota_reservations (user_id)",
            "CREATE INDEX quota_reservations_expiry ON quota_reservations (expires_at)",
            // The upload rate limit's one row per user: the GCRA's theoretical arrival time.
            "CREATE TABLE upload_rate (user_id BIGINT PRIMARY KEY, tat TIMESTAMPTZ NOT NULL)",
            // Open live-status streams across Gateways; a Gateway beats `heartbeat_at` of its own, so a dead one's
            // streams stop counting.
            """
            CREATE TABLE live_streams (
                id UUID PRIMARY KEY,
                user_id BIGINT NOT NULL,
                gateway TEXT NOT NULL,
                opened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX live_streams_user ON live_streams (user_id)",
            // The ledger of what exists now; no media row may change before its trigger takes over (same transaction).
            "LOCK TABLE media IN SHARE ROW EXCLUSIVE MODE",
            """
            INSERT INTO stored_objects (key, media_id, user_id, kind, bytes)
            SELECT storage_key, id, user_id, 'original', file_size FROM media
            UNION ALL
            SELECT r.value->>'key', m.id, m.user_id, 'rendition', COALESCE((r.value->>'file_size')::bigint, 0)
            FROM media m, jsonb_each(m.renditions) r WHERE r.value->>'key' IS NOT NULL
            ON CONFLICT (key) DO NOTHING
            """,
            """
            INSERT INTO user_quotas (user_id, used_bytes)
            SELECT user_id, sum(bytes) FROM stored_objects GROUP BY user_id
            """,
        ]),
        (19, [
            // Transform variants (SPEC §12, issue 29) are ledger rows of kind 'variant': counted in their owner's quota
            // like any stored file, and removed by the Janitor once not fetched for MEDIA_VARIANT_RETENTION. The
            // Gateway writes the time a variant was last fetched a batch at a time, never once per request.
            "ALTER TABLE stored_objects ADD COLUMN last_fetched_at TIMESTAMPTZ",
            "CREATE INDEX stored_objects_variant_fetched ON stored_objects (COALESCE(last_fetched_at, created_at)) WHERE kind = 'variant'",
        ]),
        (20, [
            // Integrity (SPEC §13, issue 30). `sha256` of the original, written with the row; the Janitor's backfill
            // hashes older rows (the partial index is its to-do list). `phash` is `metadata.phash` as a number, and
            // `phash_seq` grows with every change of it (trigger `media_phash_track`): a Gateway's in-memory index of
            // a user's hashes asks only for what changed since it last looked.
            "ALTER TABLE media ADD COLUMN sha256 TEXT, ADD COLUMN phash BIGINT, ADD COLUMN phash_seq BIGINT",
            "CREATE INDEX media_user_sha256 ON media (user_id, sha256) WHERE sha256 IS NOT NULL",
            "CREATE INDEX media_without_sha256 ON media (id) WHERE sha256 IS NULL",
            "CREATE SEQUENCE media_phash_seq",
            "CREATE INDEX media_user_phash_seq ON media (user_id, phash_seq) WHERE phash_seq IS NOT NULL",
        ]),
        (21, [
            // Duplicates (SPEC §13): the followers of a media still processing, found when its outcome is folded (by
            // its id: the leader's row may be gone by then). A handful of rows at any time: a partial index.
            """
            CREATE INDEX media_duplicate_leader ON media (((metadata->>'duplicate_of')::bigint))
            WHERE status = 'processing' AND metadata ? 'duplicate_of'
            """,
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
            try await TriggerFunction.applyChanged(on: connection, logger: logger)
        }
    }
}
