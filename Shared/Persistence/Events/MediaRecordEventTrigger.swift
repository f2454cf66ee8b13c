extension TriggerFunction {
    /// Records what a user's clients are told (SPEC §8) in `media_events`, in the transaction that changed the row,
    /// whoever changed it (the fold, the user, staff, the Janitor): `media.ready` and `media.failed` with the row as
    /// the change left it, `media.progress` when the job's percentage moved, `media.deleted` with the row as it was.
    /// The event gets its stream position and is announced when its transaction commits (`mediaEventPosition`).
    static let mediaRecordEvent = TriggerFunction(
        name: "media_record_event",
        function: """
            CREATE OR REPLACE FUNCTION media_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind TEXT;
                pct DOUBLE PRECISION;
                snap JSONB;
                row_user BIGINT;
                row_media BIGINT;
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
                VALUES (row_user, row_media, kind, pct, snap);
                RETURN NULL;
            END
            $$
            """,
        triggers: [Trigger(
            name: "media_record_event", table: "media",
            definition: """
                CREATE TRIGGER media_record_event AFTER UPDATE OR DELETE ON media
                FOR EACH ROW EXECUTE FUNCTION media_record_event()
                """)])
}
