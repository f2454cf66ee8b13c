extension TriggerFunction {
    /// Keeps `media.phash` (a number) equal to `metadata.phash` (16 hex digits, SPEC §13) and gives every change of
    /// it a new `phash_seq`, so that a reader holding a user's hashes fetches only the rows changed since the highest
    /// sequence it saw (`PostgresPerceptualHashStore`). The processors and the backfill write only the metadata.
    static let mediaPerceptualHash = TriggerFunction(
        name: "media_phash_track",
        function: """
            CREATE OR REPLACE FUNCTION media_phash_track() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                hash BIGINT;
            BEGIN
                IF NEW.metadata->>'phash' ~ '^[0-9a-f]{16}$' THEN
                    hash := ('x' || (NEW.metadata->>'phash'))::bit(64)::bigint;
                END IF;
                IF (TG_OP = 'INSERT' AND hash IS NOT NULL) OR (TG_OP = 'UPDATE' AND hash IS DISTINCT FROM OLD.phash) THEN
                    NEW.phash := hash;
                    NEW.phash_seq := nextval('media_phash_seq');
                END IF;
                RETURN NEW;
            END
            $$
            """,
        triggers: [Trigger(
            name: "media_phash_track", table: "media",
            definition: """
                CREATE TRIGGER media_phash_track BEFORE INSERT OR UPDATE OF metadata
                ON media FOR EACH ROW EXECUTE FUNCTION media_phash_track()
                """)])
}
