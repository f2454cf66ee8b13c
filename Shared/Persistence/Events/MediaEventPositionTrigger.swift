extension TriggerFunction {
    /// Gives each recorded event its stream `position` as its transaction commits, and announces it on `media_events`
    /// as `"<position> <user id>"`.
    ///
    /// Why at commit and under a lock: an event's row id is taken when the row is written, but readers see it only when
    /// its transaction commits, and two transactions commit in either order, so ids are not the order in which events
    /// become visible; a stream that wrote 11 would never write a 10 committed after it, nor would a client resuming
    /// after 11 get it (issue 27, defect 4). This trigger is deferred to commit and takes a transaction-level advisory
    /// lock before numbering: PostgreSQL makes a transaction visible before it releases its locks, so the next
    /// transaction numbers its events only after every lower position is visible (or rolled back, leaving a gap for
    /// good). Readers walk positions in order and never need to wait for one. The lock is held only from this trigger
    /// to the end of the commit.
    static let mediaEventPosition = TriggerFunction(
        name: "media_event_position",
        function: """
            CREATE OR REPLACE FUNCTION media_event_position() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                pos BIGINT;
            BEGIN
                PERFORM pg_advisory_xact_lock(7210333);
                pos := nextval('media_events_position');
                UPDATE media_events SET position = pos WHERE id = NEW.id;
                PERFORM pg_notify('media_events', pos || ' ' || NEW.user_id);
                RETURN NULL;
            END
            $$
            """,
        triggers: [Trigger(
            name: "media_event_position", table: "media_events",
            definition: """
                CREATE CONSTRAINT TRIGGER media_event_position AFTER INSERT ON media_events
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION media_event_position()
                """)])
}
