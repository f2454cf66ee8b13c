extension TriggerFunction {
    /// Keeps the stored-object ledger in step with what each media row records: its original and every rendition in
    /// `renditions`, added, resized or dropped in the transaction that changes the row (upload, fold of
    /// `media.ready`, reprocess, which also drops the older generations' transform variants), and all of them removed
    /// with the row. A new row also settles the quota reservation
    /// its upload took under the name of its folder (`UploadHandler`).
    ///
    /// A duplicate upload (SPEC §13) records the files of the media it matched: one ledger row per file still, owned by
    /// one of the media recording it (the first). A file a media stops recording (its deletion, a reprocess that gave
    /// it files of its own) passes to another media of the same folder that still records it, and only when there is
    /// none leaves the ledger: each file is counted once in the quota, for as long as any media uses it.
    static let mediaStoredObjects = TriggerFunction(
        name: "media_stored_objects",
        function: """
            CREATE OR REPLACE FUNCTION media_stored_objects() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    DELETE FROM stored_objects WHERE media_id = OLD.id AND kind = 'variant';
                    PERFORM stored_objects_release(OLD.id, '{}');
                    RETURN NULL;
                END IF;
                IF TG_OP = 'INSERT' THEN
                    -- A plain upload reserved its bytes under the name of the folder it wrote to: the row that now counts
                    -- the file gives the reservation back in its own transaction (no second statement, no moment
                    -- where both count).
                    WITH r AS (
                        DELETE FROM quota_reservations
                        WHERE id = substring(NEW.storage_key
                                            FROM '^media/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/')::uuid
                        RETURNING user_id, bytes)
                    UPDATE user_quotas q SET reserved_bytes = GREATEST(0, q.reserved_bytes - r.bytes)
                    FROM r WHERE q.user_id = r.user_id;
                END IF;
                -- An older generation's transform variants (their files go with the generation's folder).
                DELETE FROM stored_objects o
                WHERE o.media_id = NEW.id AND o.kind = 'variant' AND position('/g' || NEW.generation || '/' IN o.key) = 0;
                -- Files the row no longer records (an older generation's renditions, a shared original it left).
                PERFORM stored_objects_release(NEW.id, ARRAY(
                    SELECT NEW.storage_key
                    UNION ALL
                    SELECT r.value->>'key' FROM jsonb_each(NEW.renditions) r WHERE r.value->>'key' IS NOT NULL));
                INSERT INTO stored_objects AS o (key, media_id, user_id, kind, bytes)
                SELECT NEW.storage_key, NEW.id, NEW.user_id, 'original', NEW.file_size
                UNION ALL
                SELECT r.value->>'key', NEW.id, NEW.user_id, 'rendition', COALESCE((r.value->>'file_size')::bigint, 0)
                FROM jsonb_each(NEW.renditions) r WHERE r.value->>'key' IS NOT NULL
                -- A file another media records already (a duplicate's) keeps its owner: counted once.
                ON CONFLICT (key) DO UPDATE
                SET kind = EXCLUDED.kind, bytes = EXCLUDED.bytes,
                    media_id = CASE WHEN o.media_id IS NULL THEN EXCLUDED.media_id ELSE o.media_id END
                WHERE (o.kind, o.bytes) IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.bytes) OR o.media_id IS NULL;
                RETURN NULL;
            END
            $$
            """,
        helpers: ["""
            CREATE OR REPLACE FUNCTION stored_objects_release(p_owner BIGINT, p_kept TEXT[]) RETURNS void LANGUAGE sql AS $$
                -- The originals and renditions `p_owner` owns but no longer records (all of them when it is deleted):
                -- each goes to another media of its folder that records it (a duplicate sharing it), else leaves.
                WITH gone AS (
                    SELECT o.key,
                           (SELECT m.id FROM media m
                            WHERE split_part(m.storage_key, '/', 2) = split_part(o.key, '/', 2) AND m.id <> p_owner
                              AND (m.storage_key = o.key
                                   OR EXISTS (SELECT 1 FROM jsonb_each(m.renditions) r WHERE r.value->>'key' = o.key))
                            ORDER BY m.id LIMIT 1) AS heir
                    FROM stored_objects o
                    WHERE o.media_id = p_owner AND o.kind IN ('original', 'rendition') AND o.key <> ALL (p_kept)),
                moved AS (
                    UPDATE stored_objects o SET media_id = g.heir FROM gone g WHERE o.key = g.key AND g.heir IS NOT NULL
                    RETURNING o.key)
                DELETE FROM stored_objects o USING gone g WHERE o.key = g.key AND g.heir IS NULL
            $$
            """],
        triggers: [Trigger(
            name: "media_stored_objects", table: "media",
            definition: """
                CREATE TRIGGER media_stored_objects AFTER INSERT OR DELETE OR UPDATE OF user_id, storage_key, file_size, renditions, generation
                ON media FOR EACH ROW EXECUTE FUNCTION media_stored_objects()
                """)])

    /// Keeps each user's `used_bytes` equal to the sum of the ledger's rows of that user, in the transaction that
    /// changes the ledger. Never refuses: quotas gate uploads, not the pipeline (a rendition larger than expected
    /// still lands, SPEC §10).
    static let storedObjectsQuota = TriggerFunction(
        name: "stored_objects_quota",
        function: """
            CREATE OR REPLACE FUNCTION stored_objects_quota() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE user_quotas SET used_bytes = used_bytes - OLD.bytes WHERE user_id = OLD.user_id;
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') THEN
                    INSERT INTO user_quotas AS q (user_id, used_bytes) VALUES (NEW.user_id, NEW.bytes)
                    ON CONFLICT (user_id) DO UPDATE SET used_bytes = q.used_bytes + EXCLUDED.used_bytes;
                END IF;
                RETURN NULL;
            END
            $$
            """,
        triggers: [Trigger(
            name: "stored_objects_quota", table: "stored_objects",
            definition: """
                CREATE TRIGGER stored_objects_quota AFTER INSERT OR DELETE OR UPDATE OF user_id, bytes
                ON stored_objects FOR EACH ROW EXECUTE FUNCTION stored_objects_quota()
                """)])
}
