extension TriggerFunction {
    /// Announces every change of a media row on `media_changed` as `"<media id> <user id>"`, so each Gateway's read
    /// cache (`MediaChangeListener`) drops what went stale, whichever process made the change.
    static let mediaNotifyChange = TriggerFunction(
        name: "media_notify_change",
        function: """
            CREATE OR REPLACE FUNCTION media_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
        triggers: [Trigger(
            name: "media_notify_change", table: "media",
            definition: """
                CREATE TRIGGER media_notify_change AFTER INSERT OR UPDATE OR DELETE ON media
                FOR EACH ROW EXECUTE FUNCTION media_notify_change()
                """)])
}
