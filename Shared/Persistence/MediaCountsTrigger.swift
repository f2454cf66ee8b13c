extension TriggerFunction {
    /// Keeps `media_counts` (a user's figures by type and status, which stats and the list's count read) in step with
    /// every insert, delete and change of a media row, in the transaction that makes it.
    static let mediaCountsTrack = TriggerFunction(
        name: "media_counts_track",
        function: """
            CREATE OR REPLACE FUNCTION media_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
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
        triggers: [Trigger(
            name: "media_counts_track", table: "media",
            definition: """
                CREATE TRIGGER media_counts_track AFTER INSERT OR DELETE OR UPDATE OF user_id, file_type, status, file_size
                ON media FOR EACH ROW EXECUTE FUNCTION media_counts_track()
                """)])
}
